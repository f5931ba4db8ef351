/** engine/image/bilinear.ts: the tap weights and the two edge modes on a 3x2 single-channel raster. */
import { describe, expect, it } from 'vitest';
import { bilinearTap, newTap, type BilinearTap } from '../../src-main/engine/image/bilinear';

// 3 x 2: row 0 = 10 20 30, row 1 = 40 50 60.
const data = [10, 20, 30, 40, 50, 60];
const sample = (t: BilinearTap) =>
  t.w00 * data[t.p00]! + t.w10 * data[t.p10]! + t.w01 * data[t.p01]! + t.w11 * data[t.p11]!;

describe('bilinearTap', () => {
  it('interpolates inside the raster the same in both modes, weights summing to 1', () => {
    for (const edge of ['clamp', 'zero'] as const) {
      const t = newTap();
      expect(bilinearTap(0.5, 0.5, 3, 2, edge, t)).toBe(true);
      expect(t.w00 + t.w10 + t.w01 + t.w11).toBeCloseTo(1, 12);
      expect(sample(t)).toBeCloseTo((10 + 20 + 40 + 50) / 4, 12);
      bilinearTap(2, 1, 3, 2, edge, t);
      expect(sample(t)).toBeCloseTo(60, 12);
      bilinearTap(1.25, 0, 3, 2, edge, t);
      expect(sample(t)).toBeCloseTo(22.5, 12);
    }
  });

  it('clamp: a point outside reads the nearest edge pixel', () => {
    const t = newTap();
    expect(bilinearTap(-3, -3, 3, 2, 'clamp', t)).toBe(true);
    expect(sample(t)).toBeCloseTo(10, 12);
    bilinearTap(2.4, 0, 3, 2, 'clamp', t);
    expect(sample(t)).toBeCloseTo(30, 12);
    bilinearTap(1, 7, 3, 2, 'clamp', t);
    expect(sample(t)).toBeCloseTo(50, 12);
  });

  it('zero: neighbours outside read 0, and a point with none inside has no value', () => {
    const t = newTap();
    expect(bilinearTap(-0.5, 0, 3, 2, 'zero', t)).toBe(true);
    expect(sample(t)).toBeCloseTo(5, 12); // half of the corner pixel
    bilinearTap(2, 1.5, 3, 2, 'zero', t);
    expect(sample(t)).toBeCloseTo(30, 12); // half of 60
    for (const [x, y] of [
      [-1.5, 0],
      [3, 0],
      [0, -1.01],
      [0, 2],
    ] as const)
      expect(bilinearTap(x, y, 3, 2, 'zero', t)).toBe(false);
  });
});
