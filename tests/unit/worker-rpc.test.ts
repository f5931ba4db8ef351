/**
 * The one worker protocol (engine/util/worker-rpc.ts): values and events cross, a UserError stays a UserError
 * (code, file), a bug keeps its stack, transfers move, calls run concurrently, and a worker that dies fails its
 * pending calls instead of hanging them.
 */
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { fromWire, RpcWorker, toWire } from '../../src-main/engine/util/worker-rpc';
import type { TestApi } from './worker-rpc.worker';

const entry = new URL('./worker-rpc.worker.ts', import.meta.url);

describe('worker-rpc', () => {
  it('calls, events, errors and transfers', { timeout: 30_000 }, async () => {
    const ticks: number[] = [];
    const w = new RpcWorker<TestApi, { tick: number }>(entry, {
      data: { greeting: 'hello' },
      onEvent: (name, n) => {
        if (name === 'tick') ticks.push(n);
      },
    });
    try {
      expect(await w.call('hello', 'studio')).toBe('hello, studio');

      const ue = await w.call('userError').catch((e: unknown) => e);
      expect(isUserError(ue)).toBe(true);
      expect(ue).toMatchObject({ code: 'not-found', message: '/x/y.png: file not found', file: '/x/y.png' });

      const bug = (await w.call('bug').catch((e: unknown) => e)) as Error;
      expect(isUserError(bug)).toBe(false);
      expect(bug.message).toBe('boom');
      expect(bug.stack).toMatch(/worker-rpc\.worker\.ts/);

      const out = await w.call('count', 3);
      expect([...out]).toEqual([0, 1, 2]);
      expect(ticks).toEqual([1, 2, 3]);

      const waiting = w.call('wait');
      await w.call('stop');
      expect(await waiting).toBe('stopped');

      const none = await (w as unknown as RpcWorker<{ nope(): void }>).call('nope').catch((e: unknown) => e);
      expect((none as Error).message).toMatch(/no handler 'nope'/);
    } finally {
      await w.close();
    }
    await expect(w.call('hello', 'again')).rejects.toThrow(/closed/);
  });

  it('a worker that dies fails its pending calls', { timeout: 30_000 }, async () => {
    let exited: Error | undefined;
    const w = new RpcWorker<TestApi>(entry, {
      data: { greeting: 'hi' },
      name: 'test worker',
      onExit: (e) => (exited = e),
    });
    const waiting = w.call('wait');
    void w.call('crash').catch(() => undefined);
    await expect(waiting).rejects.toThrow('the test worker stopped (exit code 3)');
    expect(exited?.message).toMatch(/exit code 3/);
    await w.close();
  });

  it('one error shape on the wire', () => {
    const back = fromWire(toWire(new Error('x')));
    expect(back.message).toBe('x');
    expect(isUserError(back)).toBe(false);
  });
});
