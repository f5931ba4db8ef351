/**
 * The occlusion masks in the blend (issue 15): the hand polygons are cut out hard (the feather never reaches into a
 * hand: its pixels stay the input's byte for byte), the `painted` / `segment` planes are warped back through their
 * alignment matrix and intersect the other regions, and mask PNGs are read from their alpha or their grey level.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blendFace, DEFAULT_BLEND, type ModelFace } from '../../src-main/engine/convert/blend';
import { readMaskPng } from '../../src-main/engine/convert/occlusion';
import type { Point2, RgbImage } from '../../src-main/engine/face/types';
import { scratchDir } from '../helpers/testdata';

const W = 200,
  H = 200,
  S = 64;
/** A grey ramp, so every pixel has its own value. */
function frame(): RgbImage {
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) data.fill(40 + ((x + y) % 120), (y * W + x) * 3, (y * W + x) * 3 + 3);
  return { width: W, height: H, data };
}
/** Frame pixels 40..168 -> model pixels 0..64 (scale 0.5). */
const matrix: ModelFace['matrix'] = [
  [0.5, 0, -20],
  [0, 0.5, -20],
];
const white = new Float32Array(S * S * 3).fill(1);
const hand: Point2[] = [
  [60, 60],
  [100, 60],
  [100, 100],
  [60, 100],
];
const at = (img: RgbImage, x: number, y: number) => img.data[(y * W + x) * 3]!;

describe('hands and painted masks in the blend', () => {
  it('rect+hands: every pixel inside the hand stays the input, the face around it changes', () => {
    const input = frame();
    const out = frame();
    blendFace(
      out,
      { matrix, size: S, face: white, hands: [hand] },
      { ...DEFAULT_BLEND, mask: 'rect+hands', color: 'none' },
    );
    for (let y = 60; y <= 100; y++) for (let x = 60; x <= 100; x++) expect(at(out, x, y)).toBe(at(input, x, y));
    expect(at(out, 140, 140)).toBe(255);
    // Without the cut the same pixels turn white.
    const plain = frame();
    blendFace(plain, { matrix, size: S, face: white }, { ...DEFAULT_BLEND, mask: 'rect', color: 'none' });
    expect(at(plain, 80, 80)).toBe(255);
  });

  it('painted: the plane is warped back through its matrix and intersects the other regions', () => {
    const painted = new Float32Array(S * S);
    for (let v = 0; v < S; v++) for (let u = 0; u < S / 2; u++) painted[v * S + u] = 1; // left half of the face
    const input = frame();
    const out = frame();
    const mf: ModelFace = { matrix, size: S, face: white, alignedMasks: { matrix, size: S, painted } };
    blendFace(out, mf, { ...DEFAULT_BLEND, mask: 'painted', color: 'none', blurSize: 0 });
    expect(at(out, 60, 100)).toBe(255); // left half: replaced
    expect(at(out, 150, 100)).toBe(at(input, 150, 100)); // right half: kept
    const both = frame();
    blendFace(both, { ...mf, hands: [hand] }, { ...DEFAULT_BLEND, mask: 'rect+painted+hands', color: 'none' });
    expect(at(both, 80, 80)).toBe(at(input, 80, 80));
    expect(() => blendFace(frame(), { matrix, size: S, face: white }, { ...DEFAULT_BLEND, mask: 'segment' })).toThrow(
      /segment/,
    );
  });
});

describe('mask PNGs', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await scratchDir('mask-png');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads the alpha of an RGBA mask and the grey of a one-channel mask; refuses a non-square one', async () => {
    const rgba = Buffer.alloc(8 * 8 * 4, 255);
    for (let i = 0; i < 64; i++) rgba[i * 4 + 3] = i < 32 ? 255 : 0;
    await sharp(rgba, { raw: { width: 8, height: 8, channels: 4 } })
      .png()
      .toFile(join(dir, 'a.mask.png'));
    const a = await readMaskPng(join(dir, 'a.mask.png'));
    expect(a.size).toBe(8);
    expect([a.plane[0], a.plane[40]]).toEqual([1, 0]);
    const grey = Buffer.alloc(8 * 8, 0);
    grey.fill(255, 0, 8);
    await sharp(grey, { raw: { width: 8, height: 8, channels: 1 } })
      .png()
      .toFile(join(dir, 'g.mask.png'));
    const g = await readMaskPng(join(dir, 'g.mask.png'));
    expect([g.plane[0], g.plane[8]]).toEqual([1, 0]);
    await sharp(Buffer.alloc(8 * 4, 9), { raw: { width: 8, height: 4, channels: 1 } })
      .png()
      .toFile(join(dir, 'r.png'));
    await expect(readMaskPng(join(dir, 'r.png'))).rejects.toThrow(/r\.png: a face mask must be square/);
    await expect(readMaskPng(join(dir, 'none.png'))).rejects.toThrow(/none\.png/);
  });
});
