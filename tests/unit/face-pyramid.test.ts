/**
 * engine/face/image.ts: the lazily built pyramid levels and the warp's edge-free fast path give exactly what the
 * whole level built at once and the per-pixel edge-tested loop give (the extract's face PNGs depend on it).
 */
import { describe, expect, it } from 'vitest';
import { ImagePyramid, UnknownPixelsError, warpReads, warpToFloat, warpToRgb } from '../../src-main/engine/face/image';
import type { Matrix2x3, RgbImage } from '../../src-main/engine/face/types';
import { bilinearTap, newTap } from '../../src-main/engine/image/bilinear';
import { invertMatrix, matrixScale } from '../../src-main/engine/face/umeyama';

function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

function image(width: number, height: number, seed: number): RgbImage {
  const rnd = random(seed);
  const data = new Uint8Array(width * height * 3);
  // Smooth content plus noise, so that sums round both ways.
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++)
        data[(y * width + x) * 3 + c] = Math.min(
          255,
          Math.round(128 + 100 * Math.sin(x / 7 + c) * Math.cos(y / 9) + 20 * rnd()),
        );
  return { width, height, data };
}

/** The whole pyramid built at once, as before the lazy levels: level k is the rounded 2x2 mean of level k-1. */
function eagerLevels(img: RgbImage, n: number): RgbImage[] {
  const out = [img];
  for (let k = 1; k <= n; k++) {
    const p = out[k - 1]!;
    if (p.width < 4 || p.height < 4) break;
    const w = p.width >> 1,
      h = p.height >> 1;
    const d = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < 3; c++) {
          const at = (xx: number, yy: number) => p.data[(yy * p.width + xx) * 3 + c]!;
          d[(y * w + x) * 3 + c] =
            (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1) + 2) >> 2;
        }
    out.push({ width: w, height: h, data: d });
  }
  return out;
}

/** The warp with an edge test at every pixel (black outside), on eagerly built levels. */
function referenceWarp(img: RgbImage, m: Matrix2x3, width: number, height: number, mul: number, add: number): number[] {
  const levels = eagerLevels(img, 8);
  const shrink = 1 / matrixScale(m);
  const k = shrink >= 2 ? Math.floor(Math.log2(shrink)) : 0;
  const L = levels[Math.min(k, levels.length - 1)]!;
  const f = img.width / L.width,
    fy = img.height / L.height;
  const inv = invertMatrix(m);
  const a = inv[0][0] / f,
    b = inv[0][1] / f,
    c = (inv[0][2] + 0.5) / f - 0.5;
  const d = inv[1][0] / fy,
    e = inv[1][1] / fy,
    g = (inv[1][2] + 0.5) / fy - 0.5;
  const out: number[] = [];
  const tap = newTap();
  for (let y = 0; y < height; y++) {
    let sx = b * y + c,
      sy = e * y + g;
    for (let x = 0; x < width; x++, sx += a, sy += d) {
      if (!bilinearTap(sx, sy, L.width, L.height, 'zero', tap)) {
        out.push(add, add, add);
        continue;
      }
      for (let ch = 0; ch < 3; ch++)
        out.push(
          (tap.w00 * L.data[tap.p00 * 3 + ch]! +
            tap.w10 * L.data[tap.p10 * 3 + ch]! +
            tap.w01 * L.data[tap.p01 * 3 + ch]! +
            tap.w11 * L.data[tap.p11 * 3 + ch]!) *
            mul +
            add,
        );
    }
  }
  return out;
}

function similarity(scale: number, angle: number, tx: number, ty: number): Matrix2x3 {
  const c = Math.cos(angle) * scale,
    s = Math.sin(angle) * scale;
  return [
    [c, -s, tx],
    [s, c, ty],
  ];
}

describe('ImagePyramid (lazy levels)', () => {
  it('builds each region as the whole level built at once would, also with recycled buffers', () => {
    const img = image(203, 141, 1);
    const eager = eagerLevels(img, 4);
    const rnd = random(2);
    let prev: ImagePyramid | undefined;
    for (let round = 0; round < 3; round++) {
      const pyr = new ImagePyramid(img, prev);
      prev = pyr;
      for (let q = 0; q < 6; q++) {
        const k = 1 + Math.floor(rnd() * 4);
        const v = pyr.view(k);
        expect([v.width, v.height]).toEqual([eager[k]!.width, eager[k]!.height]);
        const x0 = Math.floor(rnd() * v.width),
          y0 = Math.floor(rnd() * v.height);
        const x1 = Math.min(v.width - 1, x0 + Math.floor(rnd() * 40)),
          y1 = Math.min(v.height - 1, y0 + Math.floor(rnd() * 40));
        v.ensure(x0, y0, x1, y1);
        for (let y = y0; y <= y1; y++)
          for (let i = (y * v.width + x0) * 3; i < (y * v.width + x1 + 1) * 3; i++)
            expect(v.data[i], `level ${k} byte ${i}`).toBe(eager[k]!.data[i]);
      }
      for (let k = 1; k <= 4; k++)
        expect(Buffer.from(pyr.level(k).data).equals(Buffer.from(eager[k]!.data))).toBe(true);
    }
    // A recycled pyramid of another frame: nothing left over from the first.
    const img2 = image(203, 141, 3);
    const pyr2 = new ImagePyramid(img2, prev);
    expect(Buffer.from(pyr2.level(2).data).equals(Buffer.from(eagerLevels(img2, 2)[2]!.data))).toBe(true);
  });
});

describe('warpToRgb / warpToFloat', () => {
  it('equal the per-pixel edge-tested warp inside, across and outside the frame, at every pyramid level', () => {
    const img = image(320, 240, 4);
    const cases: Array<[string, Matrix2x3, number]> = [
      ['inside, level 0', similarity(1.2, 0.2, -100, -60), 64],
      ['inside, level 1', similarity(0.4, -0.3, 10, -20), 64],
      ['inside, level 2', similarity(0.2, 0.1, 5, 2), 32],
      ['across the left edge', similarity(0.9, 0.4, 40, -50), 96],
      ['across the bottom right', similarity(0.45, 0, -100, -80), 64],
      ['the whole frame letterboxed', similarity(0.25, 0, 0, 18), 80],
      ['outside', similarity(1, 0, 500, 500), 16],
    ];
    for (const [name, m, n] of cases) {
      const rgb = warpToRgb(new ImagePyramid(img), m, n, n);
      const ref = referenceWarp(img, m, n, n, 1, 0.5).map((v) => Math.trunc(v > 255 ? 255 : v));
      expect(Array.from(rgb), name).toEqual(ref);
      const out = new Float32Array(n * n * 3).fill(Number.NaN);
      const fl = warpToFloat(new ImagePyramid(img), m, n, n, { mul: 1 / 127.5, add: -1, out });
      expect(fl).toBe(out);
      expect(Array.from(fl), name).toEqual(Array.from(Float32Array.from(referenceWarp(img, m, n, n, 1 / 127.5, -1))));
    }
  });
});

describe('ImagePyramid made of patches', () => {
  it('warps what the whole frame warps where its patches hold what the warp reads, and throws elsewhere', () => {
    const img = image(320, 240, 5);
    const whole = new ImagePyramid(img);
    const cases: Array<[string, Matrix2x3, number]> = [
      ['level 0', similarity(1.2, 0.2, -100, -60), 64],
      ['level 1', similarity(0.4, -0.3, 10, -20), 64],
      ['level 2, across the left edge', similarity(0.2, 0.4, 10, -5), 32],
    ];
    // A frame buffer holding another image: only the patches may be read.
    const other = image(320, 240, 6);
    for (const [name, m, n] of cases) {
      const reads = warpReads(whole, m, n, n);
      const patch = whole.patch(reads.level, reads.rect);
      const ref = warpToRgb(new ImagePyramid(img), m, n, n);
      const junk = { ...other, data: other.data.slice() };
      expect(Array.from(warpToRgb(new ImagePyramid(junk, undefined, [patch]), m, n, n)), name).toEqual(Array.from(ref));
      // A patch of the finer level serves too (the level is built from it).
      if (reads.level > 0) {
        const finer = warpReads(whole, m, n, n, reads.level - 1);
        // Finer pixels to spare on each side: the coarser level's neighbours and rounding are twice as wide.
        const { x0, y0, x1, y1 } = finer.rect;
        const fine = whole.patch(finer.level, { x0: x0 - 4, y0: y0 - 4, x1: x1 + 4, y1: y1 + 4 });
        expect(Array.from(warpToRgb(new ImagePyramid(junk, undefined, [fine]), m, n, n)), name).toEqual(
          Array.from(ref),
        );
      }
      // The patch one pixel short of what the warp reads on any side (whole blocks: short by a block).
      const { x0, y0, x1, y1 } = patch.rect;
      const step = reads.level === 0 ? 1 : 32;
      for (const short of [
        { x0: x0 + step, y0, x1, y1 },
        { x0, y0: y0 + step, x1, y1 },
        { x0, y0, x1: x1 - step, y1 },
        { x0, y0, x1, y1: y1 - step },
      ]) {
        // A side at the level's edge cannot be short (nothing is read beyond it).
        const r = reads.rect;
        if (short.x0 > Math.max(0, r.x0) || short.y0 > Math.max(0, r.y0) || short.x1 < r.x1 || short.y1 < r.y1) {
          const small = whole.patch(reads.level, short);
          expect(() => warpToRgb(new ImagePyramid(junk, undefined, [small]), m, n, n), name).toThrow(
            UnknownPixelsError,
          );
        }
      }
    }
  });
});
