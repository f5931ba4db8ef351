/**
 * The stale-answer rule the path picker and the Faces view share (src-renderer/lib/latest.ts): answers and errors
 * that arrive after the view moved on are dropped; the current one is applied.
 */
import { describe, expect, it } from 'vitest';
import { applyIfCurrent, latestOnly } from '../../src-renderer/lib/latest';

/** A request whose answer the test releases by hand, in any order. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('answers that arrive after the view moved on', () => {
  it('latestOnly: only the latest request applies, whatever order the answers come in', async () => {
    const next = latestOnly();
    const applied: string[] = [];
    const failed: string[] = [];
    const first = deferred<string>();
    const second = deferred<string>();
    const track = (d: ReturnType<typeof deferred<string>>) =>
      applyIfCurrent({
        request: () => d.promise,
        current: next(),
        apply: (a) => applied.push(a),
        fail: (e) => failed.push((e as Error).message),
      });
    const a = track(first);
    const b = track(second);
    second.resolve('/home/b');
    await b;
    first.resolve('/home/a'); // the opening listing, late: must not overwrite the folder the user went to
    await a;
    expect(applied).toEqual(['/home/b']);

    const c = track(first); // first is settled already: this third request's answer is current
    await c;
    expect(applied).toEqual(['/home/b', '/home/a']);

    const late = deferred<string>();
    const d = track(late);
    void track(deferred<string>()); // a newer request that never answers
    late.reject(new Error('not allowed'));
    await d;
    expect(failed).toEqual([]); // a stale error is dropped too
    const now = deferred<string>();
    const f = track(now);
    now.reject(new Error('no such folder'));
    await f;
    expect(failed).toEqual(['no such folder']);
  });

  it('a rule of the caller: the answer for the side no longer shown is dropped', async () => {
    let side = 'A';
    const applied: string[] = [];
    const load = (s: string, d: ReturnType<typeof deferred<string[]>>) =>
      applyIfCurrent({
        request: () => d.promise,
        current: () => s === side,
        apply: (names) => applied.push(`${s}:${names.length}`),
        fail: () => applied.push(`${s}:error`),
      });
    const forA = deferred<string[]>();
    const pending = load('A', forA);
    side = 'B';
    forA.resolve(['a1.png', 'a2.png']);
    await pending;
    expect(applied).toEqual([]);
    const forB = deferred<string[]>();
    const again = load('B', forB);
    forB.resolve(['b1.png']);
    await again;
    expect(applied).toEqual(['B:1']);
    const failing = deferred<string[]>();
    const broken = load('B', failing);
    failing.reject(new Error('gone'));
    await broken;
    expect(applied).toEqual(['B:1', 'B:error']);
  });
});
