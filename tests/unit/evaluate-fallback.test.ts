/**
 * The quality report's fallback for a swapped face the mesh does not accept where the original's is: one detector
 * run in the square twice the original face's size around it, never the whole frame and its tiles, and only a face
 * that overlaps the original's box counts. A real frame of person A on a wider black canvas.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { faceAt, regionAround } from '../../src-main/engine/evaluate/measure';
import { FaceDetector, overlapOfSmaller, type MeshFace } from '../../src-main/engine/face/detector';
import { loadFaceModels } from '../../src-main/engine/face/human';
import { ImagePyramid } from '../../src-main/engine/face/image';
import type { RgbImage } from '../../src-main/engine/face/types';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { hasTestdata, videos } from '../helpers/testdata';

describe('regionAround', () => {
  it('is twice the longer side, centred on the box, moved inside the frame', () => {
    expect(regionAround([100, 200, 40, 50], 1000, 800)).toEqual([70, 175, 100]);
    // Near a corner: moved, not cut.
    expect(regionAround([5, 780, 40, 10], 1000, 800)).toEqual([0, 720, 80]);
    // Larger than the frame's short side: capped at the long side, centred across the short one.
    expect(regionAround([100, 100, 300, 300], 1000, 400)).toEqual([0, -100, 600]);
    expect(regionAround([0, 0, 900, 900], 1000, 400)).toEqual([0, -300, 1000]);
  });
});

describe.skipIf(!hasTestdata)('the swapped face fallback', () => {
  let detector: FaceDetector;
  /** The frame at x = 0 of a canvas three frames wide, and the same frame moved to the canvas's right end. */
  let left: ImagePyramid;
  let right: ImagePyramid;
  let original: MeshFace;

  beforeAll(async () => {
    let frame: RgbImage | undefined;
    for await (const f of decodeFrames(videos.personA, { start: 60, end: 61 }))
      frame = { width: f.width, height: f.height, data: f.data };
    const canvas = (x0: number): ImagePyramid => {
      const w = frame!.width * 3;
      const data = new Uint8Array(w * frame!.height * 3);
      for (let y = 0; y < frame!.height; y++)
        data.set(frame!.data.subarray(y * frame!.width * 3, (y + 1) * frame!.width * 3), (y * w + x0) * 3);
      return new ImagePyramid({ width: w, height: frame!.height, data });
    };
    left = canvas(0);
    right = canvas(frame!.width * 2);
    detector = new FaceDetector(await loadFaceModels('wasm'));
    const faces = await detector.detect(left);
    expect(faces).toHaveLength(1);
    // The face's box, with its mesh region moved one frame width right, onto black: the mesh finds no face there,
    // so faceAt falls back to detection.
    original = { ...faces[0]!, roi: { ...faces[0]!.roi, cx: faces[0]!.roi.cx + left.width / 3 } };
  }, 120_000);

  it('finds the face with one detection around the box, not the whole frame', async () => {
    const detect = vi.spyOn(detector, 'detect');
    const detectIn = vi.spyOn(detector, 'detectIn');
    const tensors = tf.memory().numTensors;
    const f = await faceAt(detector, left, original);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(detect).not.toHaveBeenCalled();
    expect(detectIn).toHaveBeenCalledTimes(1);
    const side = Math.max(original.box[2], original.box[3]) * 2;
    expect(detectIn.mock.calls[0]![1][2]).toBeCloseTo(side, 6);
    expect(f).toBeDefined();
    expect(overlapOfSmaller(f!.box, original.box)).toBeGreaterThan(0.8);
    detect.mockRestore();
    detectIn.mockRestore();
  });

  it('does not find the same face elsewhere in the frame', async () => {
    // The whole frame has the face (a full-frame detection finds it), but not near the original's box.
    expect(await detector.detect(right)).toHaveLength(1);
    expect(await faceAt(detector, right, original)).toBeUndefined();
    expect(await detector.detectIn(right, regionAround(original.box, right.width, right.height))).toEqual([]);
  });
});
