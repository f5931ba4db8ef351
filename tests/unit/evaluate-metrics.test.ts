// Each metric on constructed cases with known answers.
import { describe, expect, it } from 'vitest';
import type { Point2 } from '../../src-main/engine/face/types';
import {
  angleDiff,
  cosine,
  expressionError,
  expressionRatios,
  landmarkJitter,
  meanDescriptor,
  psnr,
  regionFlicker,
  ssim,
  summarise,
} from '../../src-main/engine/evaluate/metrics';
import { poseFromLandmarks, projectPoseModel } from '../../src-main/engine/evaluate/pose';

/** A plausible frontal 68-point face (unit inter-ocular ~ 100 px) to perturb. */
function face(): Point2[] {
  const lm: Point2[] = [];
  for (let i = 0; i < 17; i++) lm.push([100 + (i - 8) * 12, 150 + Math.abs(i - 8) * -6 + 60]); // jaw
  for (let i = 17; i < 27; i++) lm.push([100 + (i - 21.5) * 11, 95]); // brows
  for (let i = 27; i < 36; i++) lm.push([100 + (i < 31 ? 0 : (i - 33) * 8), 110 + (i < 31 ? (i - 27) * 10 : 42)]); // nose
  const eye = (cx: number): Point2[] => [
    [cx - 15, 115],
    [cx - 7, 110],
    [cx + 7, 110],
    [cx + 15, 115],
    [cx + 7, 120],
    [cx - 7, 120],
  ];
  lm.push(...eye(70), ...eye(130));
  const mouth: Point2[] = [];
  for (let i = 0; i < 12; i++)
    mouth.push([100 + 25 * Math.cos(Math.PI - (i * Math.PI) / 6), 180 + 10 * Math.sin((i * Math.PI) / 6)]);
  for (let i = 0; i < 8; i++)
    mouth.push([100 + 15 * Math.cos(Math.PI - (i * Math.PI) / 4), 180 + 4 * Math.sin((i * Math.PI) / 4)]);
  lm.push(...mouth);
  return lm;
}

describe('image metrics', () => {
  const w = 64;
  const h = 48;
  const img = new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 251);
  it('PSNR: infinite for identical images, 20*log10(255/d) for a constant error d', () => {
    expect(psnr(img, img)).toBe(Infinity);
    const exact = img.map((v) => (v <= 250 ? v + 5 : v));
    const a = new Uint8Array(300).fill(100);
    const b = new Uint8Array(300).fill(110);
    expect(psnr(a, b)).toBeCloseTo(20 * Math.log10(255 / 10), 6);
    expect(psnr(img, exact)).toBeGreaterThan(30);
  });
  it('SSIM: 1 for identical images, lower for noise, lower still for an unrelated image', () => {
    expect(ssim(img, img, w, h)).toBeCloseTo(1, 6);
    let seed = 1;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const noisy = img.map((v) => Math.max(0, Math.min(255, v + (rnd() - 0.5) * 60)));
    const other = img.map(() => rnd() * 255);
    const sNoisy = ssim(img, noisy, w, h);
    expect(sNoisy).toBeLessThan(0.99);
    expect(ssim(img, other, w, h)).toBeLessThan(sNoisy);
  });
});

describe('identity', () => {
  it('cosine and mean descriptor', () => {
    expect(cosine([1, 0], [1, 0])).toBeCloseTo(1);
    expect(cosine([1, 0], [0, 2])).toBeCloseTo(0);
    expect(cosine([1, 1], [-1, -1])).toBeCloseTo(-1);
    const m = meanDescriptor([
      [1, 0],
      [0, 1],
    ]);
    expect(m[0]).toBeCloseTo(Math.SQRT1_2);
    expect(Math.hypot(...m)).toBeCloseTo(1);
  });
});

describe('pose', () => {
  it('recovers a known yaw, pitch and roll from projected landmarks', () => {
    for (const pose of [
      { yaw: 0, pitch: 0, roll: 0 },
      { yaw: 25, pitch: 0, roll: 0 },
      { yaw: 0, pitch: -15, roll: 0 },
      { yaw: 0, pitch: 0, roll: 30 },
      { yaw: -20, pitch: 10, roll: -12 },
    ]) {
      const pts = projectPoseModel(pose, 0.4, [300, 240]);
      const lm = face();
      for (const [i, p] of pts) lm[i] = p;
      const got = poseFromLandmarks(lm);
      expect(angleDiff(got.yaw, pose.yaw)).toBeCloseTo(0, 3);
      expect(angleDiff(got.pitch, pose.pitch)).toBeCloseTo(0, 3);
      expect(angleDiff(got.roll, pose.roll)).toBeCloseTo(0, 3);
    }
  });
  it('roll follows an in-plane rotation of real-looking landmarks', () => {
    const lm = face();
    const a = (20 * Math.PI) / 180;
    const rot = lm.map(
      ([x, y]) =>
        [
          100 + (x - 100) * Math.cos(a) - (y - 150) * Math.sin(a),
          150 + (x - 100) * Math.sin(a) + (y - 150) * Math.cos(a),
        ] as Point2,
    );
    expect(poseFromLandmarks(rot).roll - poseFromLandmarks(lm).roll).toBeCloseTo(20, 0);
  });
  it('angleDiff wraps', () => {
    expect(angleDiff(179, -179)).toBeCloseTo(-2);
    expect(angleDiff(-170, 170)).toBeCloseTo(20);
  });
});

describe('expression', () => {
  it('is zero for the same face at another scale and position, and sees an open mouth', () => {
    const lm = face();
    const moved = lm.map(([x, y]) => [x * 2.5 + 40, y * 2.5 - 10] as Point2);
    expect(expressionError(lm, moved)).toBeCloseTo(0, 9);
    const d = [lm[66]![0] - lm[62]![0], lm[66]![1] - lm[62]![1]];
    const open = lm.map((p, i) => (i === 66 ? ([p[0] + 2 * d[0]!, p[1] + 2 * d[1]!] as Point2) : p));
    expect(expressionRatios(open).mouth).toBeGreaterThan(expressionRatios(lm).mouth);
    expect(expressionError(lm, open)).toBeGreaterThan(0.05);
  });
});

describe('temporal', () => {
  it('jitter is the mean point movement over the inter-ocular distance', () => {
    const lm = face();
    const io = Math.hypot(lm[36]![0] - lm[45]![0], lm[36]![1] - lm[45]![1]);
    const shifted = lm.map(([x, y]) => [x + 3, y + 4] as Point2);
    const j = landmarkJitter([lm, shifted, shifted]);
    expect(j[0]).toBeCloseTo(5 / io, 9);
    expect(j[1]).toBe(0);
  });
  it('flicker is the mean absolute change inside the mask only', () => {
    const a = new Uint8Array([10, 10, 10, 50, 50, 50]);
    const b = new Uint8Array([14, 14, 14, 250, 250, 250]);
    expect(regionFlicker(a, b, [1, 0])).toBe(4);
  });
  it('summarise gives mean and 5th percentile', () => {
    const s = summarise(Array.from({ length: 101 }, (_, i) => i));
    expect(s.mean).toBe(50);
    expect(s.p5).toBe(5);
  });
});
