/**
 * The quality report's identity means (evaluate/run.ts identityMean, the images described by measure.ts's
 * `describe`, as a measuring thread does): an aligned face (as extract writes it) skips
 * the detector, and a mean is cached across runs in the config folder, keyed by every image's path, size and
 * modification time. An aligned face of a real frame of person A.
 */
import { readdir, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Measurer } from '../../src-main/engine/evaluate/measure';
import { identityImages, identityMean } from '../../src-main/engine/evaluate/run';
import { cosine } from '../../src-main/engine/evaluate/metrics';
import { alignFace } from '../../src-main/engine/face/align';
import { FaceDetector } from '../../src-main/engine/face/detector';
import { loadFaceModels } from '../../src-main/engine/face/human';
import { ImagePyramid, warpToFloat } from '../../src-main/engine/face/image';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { recordingContext, type StageContext } from '../../src-main/engine/stage';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';

describe.skipIf(!hasTestdata)('identity means', () => {
  let dir = '';
  let face = '';
  let detector: FaceDetector;
  /** The descriptor of the face the detector finds in the aligned image. */
  let detected: Float32Array;
  /** The identity's mean as the report reads it, its images described by a measuring thread (here, this one). */
  let meanOf: (paths: string[], ctx: StageContext) => Promise<number[]>;

  beforeAll(async () => {
    dir = await scratchDir('evaluate-identity');
    process.env.FSS_CONFIG_DIR = join(dir, 'config');
    detector = new FaceDetector(await loadFaceModels('wasm'));
    let pyr: ImagePyramid | undefined;
    for await (const f of decodeFrames(videos.personA, { start: 60, end: 61 }))
      pyr = new ImagePyramid({ width: f.width, height: f.height, data: f.data });
    const lm = (await detector.detect(pyr!))[0]!.landmarks68;
    const aligned = warpToFloat(pyr!, alignFace(lm, 256).matrix, 256, 256, { mul: 1, add: 0 });
    face = join(dir, 'face.png');
    await sharp(
      Uint8Array.from(aligned, (v) => Math.round(v)),
      { raw: { width: 256, height: 256, channels: 3 } },
    )
      .png()
      .toFile(face);
    const alignedPyr = new ImagePyramid({ width: 256, height: 256, data: Uint8Array.from(aligned, Math.round) });
    detected = await detector.descriptor(alignedPyr, (await detector.detect(alignedPyr))[0]!);
    const measurer = new Measurer(() => undefined);
    await measurer.init({ original: '', swapped: '', identityEvery: 4, backend: 'wasm' });
    meanOf = async (paths, ctx) => identityMean((files) => measurer.describe(files), await identityImages(paths), ctx);
  }, 120_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an aligned face: the mesh from the image centre, no detector; the descriptor of the detected face', async () => {
    const detect = vi.spyOn(FaceDetector.prototype, 'detect');
    const mean = await meanOf([face], recordingContext());
    expect(detect).not.toHaveBeenCalled();
    detect.mockRestore();
    expect(cosine(mean, detected)).toBeGreaterThan(0.99);
  });

  it('is cached across runs, and computed again when an image changes', async () => {
    const first = await meanOf([face], recordingContext());
    expect(await readdir(join(dir, 'config', 'cache', 'identity'))).toHaveLength(1);
    const descriptor = vi.spyOn(FaceDetector.prototype, 'descriptor');
    const ctx = recordingContext();
    expect(await meanOf([face], ctx)).toEqual(first);
    expect(descriptor).not.toHaveBeenCalled();
    expect(ctx.logs.some(([, m]) => m.includes('cached'))).toBe(true);
    // A newer modification time is another key: computed again (the same image: the same mean).
    await utimes(face, new Date(), new Date(Date.now() + 5000));
    const again = await meanOf([face], recordingContext());
    expect(descriptor).toHaveBeenCalledTimes(1);
    expect(again).toEqual(first);
    descriptor.mockRestore();
    expect(await readdir(join(dir, 'config', 'cache', 'identity'))).toHaveLength(2);
  });
});
