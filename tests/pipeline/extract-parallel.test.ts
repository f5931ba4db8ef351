/**
 * The extract pipeline (engine/extract/pipeline.ts) writes the same thing on any number of workers: on the first
 * 40 frames of a real clip cut into chunks of 16 (three chunks, so worker threads run them side by side and the
 * in-order stage joins tracks and smoothing across two boundaries), two workers write the alignments of one
 * (boxes and landmarks within 1e-3 px, the same track ids and files) and byte-identical face PNGs. The quality
 * report (engine/evaluate/run.ts, ranges measured on workers) of that clip against itself is the same on two
 * workers as on one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hasTestdata, scratchDir, td } from '../helpers/testdata';
import { runExtract, type ExtractResult } from '../../src-main/engine/extract/run';
import { runEvaluate } from '../../src-main/engine/evaluate/run';
import type { QualityReport } from '../../src-shared/formats/quality';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { createVideoWriter } from '../../src-main/engine/media/encode';
import { probeVideo } from '../../src-main/engine/media/probe';
import { quietContext } from '../../src-main/engine/stage';
import { parseOptions } from '../../src-shared/options';
import { extractOptions } from '../../src-shared/stages/extract';
import { parseAlignments, type Alignments } from '../../src-shared/formats/alignments';

const FRAMES = 40;
const CHUNK = 16;
const personD = td('videos', 'personD_long_lp-d3.mp4');

describe.skipIf(!hasTestdata)('extract pipeline on several workers', () => {
  let dir = '';
  let clip = '';
  const runs: Array<{ r: ExtractResult; al: Alignments; faces: string }> = [];
  beforeAll(async () => {
    dir = await scratchDir('extract-parallel');
    clip = join(dir, 'clip.mp4');
    const info = await probeVideo(personD);
    const w = await createVideoWriter({ path: clip, width: info.width, height: info.height, fps: info.fpsRational });
    for await (const f of decodeFrames(personD, { end: FRAMES })) await w.write(f.data);
    await w.close();
    for (const workers of [1, 2]) {
      const faces = join(dir, `faces${workers}`);
      const alignments = join(dir, `a${workers}.json`);
      const r = await runExtract(
        parseOptions(extractOptions, { input: clip, output: faces, alignments }),
        quietContext(),
        {
          workers,
          chunkFrames: CHUNK,
        },
      );
      runs.push({ r, al: parseAlignments(JSON.parse(await readFile(alignments, 'utf8')), alignments), faces });
    }
  }, 240_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs on the workers asked for, every frame, with a face in each', () => {
    expect(runs.map((x) => x.r.workers)).toEqual([1, 2]);
    for (const { r, al } of runs) {
      expect(r.framesProcessed).toBe(FRAMES);
      expect(Object.keys(al.frames)).toHaveLength(FRAMES);
      expect(r.framesWithFaces).toBe(FRAMES);
      expect(al.complete).toBe(true);
      expect(r.steps.detect).toBeGreaterThan(0);
      expect(r.steps.write).toBeGreaterThan(0);
    }
  });

  it('writes the alignments of one worker', () => {
    const [one, two] = runs.map((x) => x.al);
    let worst = 0;
    for (const [key, f1] of Object.entries(one!.frames)) {
      const f2 = two!.frames[key]!;
      expect(f2.faces.map((f) => [f.track, f.file])).toEqual(f1.faces.map((f) => [f.track, f.file]));
      f1.faces.forEach((a, i) => {
        const b = f2.faces[i]!;
        a.box.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b.box[k]!))));
        a.landmarks68.forEach((p, k) =>
          p.forEach((v, c) => (worst = Math.max(worst, Math.abs(v - b.landmarks68[k]![c]!)))),
        );
      });
    }
    expect(worst).toBeLessThanOrEqual(1e-3);
    // One track through the chunk boundaries (the in-order stage joins them).
    const tracks = new Set(Object.values(one!.frames).flatMap((f) => f.faces.map((x) => x.track)));
    expect(tracks.size).toBe(1);
  });

  it('writes the same face PNGs', async () => {
    const [one, two] = runs;
    const names = (await readdir(one!.faces)).sort();
    expect(names).toHaveLength(FRAMES);
    expect((await readdir(two!.faces)).sort()).toEqual(names);
    for (const n of names)
      expect((await readFile(join(two!.faces, n))).equals(await readFile(join(one!.faces, n))), n).toBe(true);
  });

  it('reports the same quality on two workers as on one', async () => {
    const reports: QualityReport[] = [];
    // One aligned face as each identity: the identities are not what is compared.
    const face = join(runs[0]!.faces, (await readdir(runs[0]!.faces)).sort()[0]!);
    for (const workers of [1, 2]) {
      reports.push(
        await runEvaluate(
          {
            original: clip,
            swapped: clip,
            sourceFaces: [face],
            targetFaces: [face],
            everyN: 1,
            identityEvery: 4,
            backend: 'auto',
            report: join(dir, `q${workers}.json`),
          },
          quietContext(),
          { workers, chunkFrames: CHUNK },
        ),
      );
    }
    const [one, two] = reports.map(({ created: _, ...rest }) => rest);
    expect(one!.frames.withFaceBoth).toBe(FRAMES);
    expect(one!.temporal.flickerOriginal).toBeGreaterThan(0);
    expect(two).toEqual(one);
  }, 400_000);
});
