/**
 * Convert's frame workers (engine/convert/frame-pool.ts) give the frames of the one-thread run: a real (1-iteration)
 * lightweight model converts the first 16 frames of a clip into PNGs once in this thread and once on two worker
 * threads, and every pixel of every frame is within 1 level.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';
import { runConvert, type ConvertResult } from '../../src-main/engine/convert/run';
import { runExtract } from '../../src-main/engine/extract/run';
import { runTrain } from '../../src-main/engine/train/run';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { createVideoWriter } from '../../src-main/engine/media/encode';
import { probeVideo } from '../../src-main/engine/media/probe';
import { quietContext } from '../../src-main/engine/stage';
import { parseOptions } from '../../src-shared/options';
import { convertOptions } from '../../src-shared/stages/convert';
import { extractStage } from '../../src-shared/stages/extract';
import { trainStage } from '../../src-shared/stages/train';

const FRAMES = 16;

describe.skipIf(!hasTestdata)('convert on several workers', () => {
  let dir = '';
  const runs: Array<{ r: ConvertResult; out: string }> = [];
  beforeAll(async () => {
    dir = await scratchDir('convert-parallel');
    process.env.FSS_CONFIG_DIR = join(dir, 'config');
    const clip = join(dir, 'clip.mp4');
    const info = await probeVideo(videos.personA);
    const w = await createVideoWriter({ path: clip, width: info.width, height: info.height, fps: info.fpsRational });
    for await (const f of decodeFrames(videos.personA, { end: FRAMES })) await w.write(f.data);
    await w.close();
    const faces = join(dir, 'faces');
    await runExtract(parseOptions(extractStage.options, { input: clip, output: faces }), quietContext());
    const model = join(dir, 'model');
    await runTrain(
      parseOptions(trainStage.options, {
        inputA: faces,
        inputB: faces,
        modelDir: model,
        trainer: 'lightweight',
        iterations: 1,
        previewEvery: 0,
        seed: 3,
      }),
      quietContext(),
    );
    for (const workers of [1, 2]) {
      const out = join(dir, `out${workers}`);
      const r = await runConvert(
        parseOptions(convertOptions, { input: clip, output: out, model, label: false }),
        quietContext(),
        { workers },
      );
      runs.push({ r, out });
    }
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('converts every frame on the workers asked for', () => {
    expect(runs.map((x) => x.r.workers)).toEqual([1, 2]);
    for (const { r } of runs) {
      expect(r.frames).toBe(FRAMES);
      expect(r.faces).toBe(FRAMES);
      expect(r.steps.model).toBeGreaterThan(0);
      expect(r.steps.blend).toBeGreaterThan(0);
    }
  });

  it('writes frames within 1 level of the one-thread run', async () => {
    const names = (await readdir(runs[0]!.out)).filter((n) => n.endsWith('.png')).sort();
    expect(names).toHaveLength(FRAMES);
    let worst = 0;
    for (const n of names) {
      const [a, b] = await Promise.all(runs.map((x) => sharp(join(x.out, n)).raw().toBuffer()));
      expect(b!.length).toBe(a!.length);
      for (let i = 0; i < a!.length; i++) worst = Math.max(worst, Math.abs(a![i]! - b![i]!));
    }
    expect(worst).toBeLessThanOrEqual(1);
  });
});
