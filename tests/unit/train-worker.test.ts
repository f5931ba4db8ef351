/**
 * runTrain in its worker thread: progress and preview events reach the context, the abort signal stops after
 * the current step with a save, and a resumed run continues the count; "Save now" and "Preview now" act after
 * the step in flight; a bad folder is a one-line UserError.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { parseOptions } from '../../src-shared/options';
import type { PreviewEvent, Progress } from '../../src-shared/progress';
import { trainStage } from '../../src-shared/stages/train';
import { scratchDir } from '../helpers/testdata';
import { readModelFiles } from '../../src-main/engine/train/model-io';
import { runTrain } from '../../src-main/engine/train/run';
import { previewDue } from '../../src-main/engine/train/schedule';

let dir = '';

beforeAll(async () => {
  dir = await scratchDir('train-worker');
  for (const side of ['A', 'B']) {
    await mkdir(join(dir, side));
    for (let i = 0; i < 6; i++) {
      const px = Buffer.alloc(80 * 80 * 3);
      for (let j = 0; j < px.length; j++) px[j] = (j * (side === 'A' ? 7 : 13) + i * 31) % 256;
      await sharp(px, { raw: { width: 80, height: 80, channels: 3 } })
        .png()
        .toFile(join(dir, side, `f_${String(i).padStart(6, '0')}_0.png`));
    }
  }
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const opts = (iterations: number, extra: Record<string, unknown> = {}) =>
  parseOptions(trainStage.options, {
    inputA: join(dir, 'A'),
    inputB: join(dir, 'B'),
    modelDir: join(dir, 'model'),
    trainer: 'lightweight',
    batchSize: 2,
    iterations,
    saveEvery: 1000,
    previewEvery: 2,
    backend: 'wasm',
    seed: 3,
    ...extra,
  });

describe('runTrain (worker thread)', () => {
  it('stops on abort after the current step, saves, and resumes from there', { timeout: 120_000 }, async () => {
    const ac = new AbortController();
    const events: Progress[] = [];
    const previews: PreviewEvent[] = [];
    const r = await runTrain(opts(1000), {
      signal: ac.signal,
      progress: (p) => {
        events.push(p);
        if ((p.metrics?.iteration ?? 0) >= 3) ac.abort();
      },
      log: () => {},
      preview: (p) => previews.push(p),
    });
    expect(r.stopped).toBe(true);
    expect(r.iteration).toBeGreaterThanOrEqual(3);
    expect(r.iteration).toBeLessThan(10);
    const saved = await readModelFiles(join(dir, 'model'));
    expect(saved.state.iteration).toBe(r.iteration);
    expect(events.some((e) => e.metrics && 'egs' in e.metrics)).toBe(true);
    expect(previews.length).toBeGreaterThan(0);
    const fractions = events.map((e) => e.fraction);
    expect(fractions.every((f, i) => i === 0 || f >= (fractions[i - 1] ?? 0))).toBe(true);

    const r2 = await runTrain(opts(r.iteration + 2), {
      signal: new AbortController().signal,
      progress: () => {},
      log: () => {},
    });
    expect(r2.resumed).toBe(true);
    expect(r2.startIteration).toBe(r.iteration);
    expect(r2.iteration).toBe(r.iteration + 2);
  });

  it(
    '"Save now" (a save request to the running job) saves after the current step and training goes on',
    { timeout: 120_000 },
    async () => {
      await rm(join(dir, 'model'), { recursive: true, force: true });
      let listener: ((r: 'save') => void) | undefined;
      let requestedAt = 0;
      const saves: number[] = [];
      const r = await runTrain(opts(8, { previewEvery: 0 }), {
        signal: new AbortController().signal,
        progress: (p) => {
          const it = p.metrics?.iteration ?? 0;
          if (it >= 2 && !requestedAt) {
            requestedAt = it;
            listener?.('save');
          }
        },
        log: (_level, message) => {
          const m = /^saved at iteration (\d+)/.exec(message);
          if (m) saves.push(Number(m[1]));
        },
        onRequest: (l) => {
          listener = l;
          return () => (listener = undefined);
        },
      });
      expect(r.stopped).toBe(false);
      expect(r.iteration).toBe(8);
      // saveEvery is 1000: the only saves are the requested one (right after the step in flight) and the last.
      expect(saves).toHaveLength(2);
      expect(saves[0]).toBeGreaterThanOrEqual(requestedAt);
      expect(saves[0]).toBeLessThanOrEqual(requestedAt + 2);
      expect(saves[1]).toBe(8);
    },
  );

  it(
    '"Preview now" (a preview request to the running job) writes the grid after the current step',
    { timeout: 300_000 },
    async () => {
      await rm(join(dir, 'model'), { recursive: true, force: true });
      let listener: ((r: 'save' | 'preview') => void) | undefined;
      let requestedAt = 0;
      const previews: PreviewEvent[] = [];
      const r = await runTrain(opts(8, { previewEvery: 0, previewEverySeconds: 0 }), {
        signal: new AbortController().signal,
        progress: (p) => {
          const it = p.metrics?.iteration ?? 0;
          if (it >= 2 && !requestedAt) {
            requestedAt = it;
            listener?.('preview');
          }
        },
        log: () => {},
        preview: (p) => previews.push(p),
        onRequest: (l) => {
          listener = l;
          return () => (listener = undefined);
        },
      });
      expect(r.iteration).toBe(8);
      // No preview by iteration or time: the only one is the requested one, right after the step in flight.
      expect(previews).toHaveLength(1);
      expect(previews[0]?.iteration).toBeGreaterThanOrEqual(requestedAt);
      expect(previews[0]?.iteration).toBeLessThanOrEqual(requestedAt + 2);
    },
  );

  it('previews by iteration, by time since the last one, and on request', () => {
    const plan = { every: 250, everySeconds: 120 };
    expect(previewDue(plan, 250, 1_000, 0)).toBe(true);
    expect(previewDue(plan, 251, 119_999, 0)).toBe(false);
    expect(previewDue(plan, 251, 120_000, 0)).toBe(true);
    expect(previewDue(plan, 252, 130_000, 120_000)).toBe(false);
    expect(previewDue(plan, 253, 1, 0, true)).toBe(true);
    expect(previewDue({ every: 0, everySeconds: 0 }, 500, 1e9, 0)).toBe(false);
  });

  it('reports a missing faces folder as a UserError from the worker', async () => {
    const e = await runTrain(opts(2, { inputA: join(dir, 'nope') }), {
      signal: new AbortController().signal,
      progress: () => {},
      log: () => {},
    }).catch((x: unknown) => x);
    expect(isUserError(e)).toBe(true);
    expect(String((e as Error).message)).toMatch(/nope: faces folder not found/);
  });
});
