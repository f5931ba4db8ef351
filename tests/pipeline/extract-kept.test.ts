/**
 * The write pass of an extract chunk (engine/extract/chunks.ts) writes its faces from the pyramid pixels the detect
 * pass kept, not from a second decode, and writes exactly what a second decode writes: on 24 frames of a real clip,
 * the entries and byte-identical face PNGs of a runner that keeps nothing (the chunk decoded again), of one that
 * keeps the default margin (nothing decoded again) and of one that keeps too little (each warp finds pixels it
 * needs missing, and the frames are decoded again from there).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hasTestdata, scratchDir, td } from '../helpers/testdata';
import { ChunkRunner, type ChunkApi, type ChunkRange } from '../../src-main/engine/extract/chunks';
import { DEFAULT_DETECT } from '../../src-main/engine/face/detector';
import { parseOptions } from '../../src-shared/options';
import { extractOptions } from '../../src-shared/stages/extract';

const FRAMES = 24;
const personD = td('videos', 'personD_long_lp-d3.mp4');

type Written = Awaited<ReturnType<ChunkApi['write']>>;

describe.skipIf(!hasTestdata)('extract write pass from the kept pixels', () => {
  let dir = '';
  const runs = new Map<string, { w: Written; faces: string }>();
  beforeAll(async () => {
    dir = await scratchDir('extract-kept');
    const runner = new ChunkRunner(() => undefined);
    const range: ChunkRange = { chunk: 0, warmFrom: 0, start: 0, end: FRAMES, every: 1 };
    // false: nothing kept; undefined: KEEP_MARGIN; -0.45: rectangles smaller than what the warps read.
    for (const [name, keepMargin] of [
      ['decode', false],
      ['kept', undefined],
      ['short', -0.45],
    ] as const) {
      const faces = join(dir, name);
      const options = parseOptions(extractOptions, { input: personD, output: faces });
      await runner.init({
        path: personD,
        stem: 'clip',
        outDir: faces,
        options,
        detect: DEFAULT_DETECT,
        refs: [],
        nrefs: [],
        ...(keepMargin !== undefined ? { keepMargin } : {}),
      });
      await mkdir(faces, { recursive: true });
      const raw = await runner.detect(range);
      // The raw landmarks as the plan (the main thread's smoothing moves them a little; the margin is for that).
      const w = await runner.write({ range, frames: raw.frames.map((f) => ({ index: f.index, faces: f.faces })) });
      runs.set(name, { w, faces });
    }
  }, 240_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('decodes again only what the kept pixels miss', () => {
    expect(runs.get('decode')!.w.decoded).toBe(FRAMES);
    expect(runs.get('kept')!.w.decoded).toBe(0);
    expect(runs.get('short')!.w.decoded).toBe(FRAMES);
  });

  it('writes the same entries and face PNGs either way', async () => {
    const ref = runs.get('decode')!;
    const names = (await readdir(ref.faces)).sort();
    expect(names).toHaveLength(FRAMES);
    for (const name of ['kept', 'short']) {
      const run = runs.get(name)!;
      expect(run.w.frames, name).toEqual(ref.w.frames);
      expect((await readdir(run.faces)).sort()).toEqual(names);
      for (const n of names)
        expect((await readFile(join(run.faces, n))).equals(await readFile(join(ref.faces, n))), `${name} ${n}`).toBe(
          true,
        );
    }
  });
});
