/**
 * The learned mask's target: the extended landmark hull of an aligned face (face/face-mask.ts), and the trainer
 * taking it from a face PNG's metadata (train/data.ts), on the 300-W ground-truth landmarks of a real photo.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FACE_PNG_KEYWORD, parseFacePngMeta, type FacePngMeta } from '../../src-shared/formats/face-png';
import { alignFace } from '../../src-main/engine/face/align';
import { extendedLandmarks, landmarkFaceMask } from '../../src-main/engine/face/face-mask';
import { addPngText, asciiJson } from '../../src-main/engine/face/png-text';
import type { Point2 } from '../../src-main/engine/face/types';
import { transformPoints } from '../../src-main/engine/face/umeyama';
import { defaultMask, loadFaces } from '../../src-main/engine/train/data';
import { hasTestdata, scratchDir, td } from '../helpers/testdata';

const SIZE = 256;
let lm: Point2[] = [];
let dir = '';

beforeAll(async () => {
  if (!hasTestdata) return;
  const gt = JSON.parse(await readFile(td('landmarks', '300w', '300w_landmarks.json'), 'utf8')) as {
    images: { file: string; faces: { landmarks: Point2[] }[] }[];
  };
  const src = gt.images.find((i) => i.file === 'indoor_029.png')!.faces[0]!.landmarks;
  lm = transformPoints(alignFace(src, SIZE).matrix, src);
  dir = await scratchDir('face-mask');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const at = (m: Uint8Array, size: number, p: readonly number[]) => m[Math.round(p[1]!) * size + Math.round(p[0]!)]!;

describe.skipIf(!hasTestdata)('landmark face mask', () => {
  it('raises the brows by half their distance to the eyes and keeps every other point', () => {
    const ext = extendedLandmarks(lm);
    for (let i = 0; i < 68; i++) {
      if (i >= 17 && i <= 26) continue;
      expect(ext[i]).toEqual(lm[i]);
    }
    // Upper eyelid 37 sits under brow 19: the brow moves up by half the gap.
    expect(ext[19]![1]).toBeCloseTo(lm[19]![1] - (lm[37]![1] - lm[19]![1]) / 2, 6);
    for (let i = 17; i <= 26; i++) expect(ext[i]![1]).toBeLessThan(lm[i]![1]);
  });

  it('covers the face and the forehead above the brows, not the corners, with a soft edge', () => {
    const m = landmarkFaceMask(lm, SIZE, SIZE);
    for (const i of [30, 33, 36, 45, 48, 54]) expect(at(m, SIZE, lm[i]!), `landmark ${i}`).toBeGreaterThan(200);
    // The brows themselves (the plain hull's top edge) are well inside: the forehead above them is covered.
    for (const i of [19, 24]) expect(at(m, SIZE, lm[i]!), `brow ${i}`).toBeGreaterThan(235);
    for (const c of [
      [2, 2],
      [SIZE - 3, 2],
      [2, SIZE - 3],
      [SIZE - 3, SIZE - 3],
    ])
      expect(at(m, SIZE, c)).toBe(0);
    expect(m.some((v) => v > 20 && v < 235)).toBe(true);
    // It is the face's shape, not the default ellipse.
    const e = defaultMask(SIZE);
    let diff = 0;
    for (let p = 0; p < m.length; p++) diff += Math.abs(m[p]! - e[p]!) > 128 ? 1 : 0;
    expect(diff / m.length).toBeGreaterThan(0.02);
    // The same mask at the trainer's cache size (half): the landmarks scale with it.
    const half = landmarkFaceMask(lm, SIZE, SIZE / 2);
    expect(at(half, SIZE / 2, [lm[30]![0] / 2, lm[30]![1] / 2])).toBeGreaterThan(200);
  });

  it('the trainer takes it from the PNG metadata; a face without landmarks gets the ellipse', async () => {
    const rgb = Buffer.alloc(SIZE * SIZE * 3, 128);
    const png = await sharp(rgb, { raw: { width: SIZE, height: SIZE, channels: 3 } })
      .png()
      .toBuffer();
    const meta: FacePngMeta = {
      version: 1,
      source: 'indoor_029.png',
      sourcePath: '/x/indoor_029.png',
      frame: 'indoor_029.png',
      face: 0,
      size: SIZE,
      centering: 'face',
      matrix: [
        [1, 0, 0],
        [0, 1, 0],
      ],
      landmarks: lm,
    };
    const withLm = join(dir, 'with.png');
    const without = join(dir, 'without.png');
    await writeFile(withLm, addPngText(png, FACE_PNG_KEYWORD, asciiJson(meta)));
    await writeFile(without, addPngText(png, FACE_PNG_KEYWORD, asciiJson({ ...meta, landmarks: undefined })));
    expect(parseFacePngMeta(asciiJson(meta))?.landmarks).toHaveLength(68);
    const [a, b] = await loadFaces([withLm, without], 128);
    const alpha = (f: { rgba: Uint8Array }) => Uint8Array.from({ length: 128 * 128 }, (_, p) => f.rgba[p * 4 + 3]!);
    expect(alpha(a!)).toEqual(landmarkFaceMask(lm, SIZE, 128));
    expect(alpha(b!)).toEqual(defaultMask(128));
  });
});
