/**
 * Losses and the learning-rate schedule (issue 12): the loss list's parsing and weights, MSE and MS-SSIM against
 * known answers and an independent float64 reference, the mask-weighted loss, the eye multiplier's effect on
 * real faces (PASCAL VOC faces with 68 landmarks, seeded training of a small model), and warmup against the
 * early loss spike.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../src-shared/options';
import { trainStage } from '../../src-shared/stages/train';
import type { Point2 } from '../../src-main/engine/face/types';
import { loadTf, type Tf } from '../../src-main/engine/tf/backend';
import { Adam } from '../../src-main/engine/train/adam';
import {
  augmentInto,
  centreCrop,
  landmarkWarp,
  makeBatch,
  type AugmentOptions,
  type CachedFace,
} from '../../src-main/engine/train/augment';
import { landmarkRegions, linkPartners } from '../../src-main/engine/train/data';
import {
  batchLoss,
  lossOf,
  msSsim,
  msSsimScales,
  MS_SSIM_WEIGHTS,
  parseLossSpec,
  ssim,
  weightedLoss,
} from '../../src-main/engine/train/loss';
import { buildAutoencoder, type AutoencoderConfig } from '../../src-main/engine/train/models/index';
import { shareOf } from '../../src-main/engine/train/parallel';
import { Rng } from '../../src-main/engine/train/rng';
import { scheduleFactor } from '../../src-main/engine/train/schedule';
import { trainStep } from '../../src-main/engine/train/trainer';
import { hasTestdata, td } from '../helpers/testdata';

let tf: Tf;
beforeAll(async () => {
  tf = (await loadTf({ backend: 'wasm' })).tf;
});

/** Deterministic pseudo-random values in [0, 1). */
function rand(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.next());
}

const scalar = (t: { dataSync(): ArrayLike<number>; dispose(): void }) => {
  const v = t.dataSync()[0] as number;
  t.dispose();
  return v;
};

describe('loss list', () => {
  it('parses names and weights, faceswap style, and the old mae+ssim', () => {
    expect(parseLossSpec('mae')).toEqual([{ fn: 'mae', weight: 1 }]);
    expect(parseLossSpec('mae+ssim')).toEqual([
      { fn: 'mae', weight: 1 },
      { fn: 'ssim', weight: 1 },
    ]);
    expect(parseLossSpec(' mae:1, ms-ssim:.5 ')).toEqual([
      { fn: 'mae', weight: 1 },
      { fn: 'ms-ssim', weight: 0.5 },
    ]);
    for (const bad of ['', 'l1', 'mae:0', 'mae:x', 'mae,mae:2']) expect(() => parseLossSpec(bad)).toThrow(/^'/);
  });

  it('the train option accepts loss lists and refuses anything else', () => {
    const base = { inputA: 'a', inputB: 'b', modelDir: 'm' };
    expect(parseOptions(trainStage.options, { ...base, loss: 'mae:1,ms-ssim:0.5' }).loss).toBe('mae:1,ms-ssim:0.5');
    // The defaults chosen by measurement (docs/quality.md): mae+ssim at 3e-4.
    const d = parseOptions(trainStage.options, base);
    expect([d.loss, d.learningRate]).toEqual(['mae+ssim', 3e-4]);
    expect(() => parseOptions(trainStage.options, { ...base, loss: 'mae;ssim' })).toThrow(/loss list/);
  });

  it('MSE of a constant error d is d^2; a mix is the weighted sum of its terms', () => {
    const a = tf.tensor4d(rand(2 * 24 * 24 * 3, 1), [2, 24, 24, 3]);
    const b = tf.tensor4d(rand(2 * 24 * 24 * 3, 2), [2, 24, 24, 3]);
    const shifted = tf.add(a, 0.1) as typeof a;
    expect(scalar(lossOf(tf, 'mse', shifted, a))).toBeCloseTo(0.01, 6);
    const mix = scalar(weightedLoss(tf, parseLossSpec('mae:1,ssim:0.5,mse:2'), a, b));
    const parts =
      scalar(lossOf(tf, 'mae', a, b)) + 0.5 * scalar(lossOf(tf, 'ssim', a, b)) + 2 * scalar(lossOf(tf, 'mse', a, b));
    expect(mix).toBeCloseTo(parts, 6);
    tf.dispose([a, b, shifted]);
  });
});

/**
 * MS-SSIM by its definition in float64, written independently of loss.ts (direct 2D windows, no separable
 * convolution, no tensors): per plane, prod over scales of mean(cs)^w, the last scale mean(l cs)^w.
 */
function msSsimReference(x: Float64Array, y: Float64Array, n: number, s: number, c: number): number {
  const g: number[] = [];
  for (let i = 0; i < 11; i++) g.push(Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const gs = g.reduce((p, q) => p + q, 0);
  const scales = msSsimScales(s);
  const w = MS_SSIM_WEIGHTS.slice(0, scales);
  const wsum = w.reduce((p, q) => p + q, 0);
  let total = 0;
  for (let img = 0; img < n; img++) {
    for (let ch = 0; ch < c; ch++) {
      let px: number[][] = [];
      let py: number[][] = [];
      for (let r = 0; r < s; r++) {
        px.push([]);
        py.push([]);
        for (let q = 0; q < s; q++) {
          const k = ((img * s + r) * s + q) * c + ch;
          (px[r] as number[]).push(x[k] as number);
          (py[r] as number[]).push(y[k] as number);
        }
      }
      let value = 1;
      for (let j = 0; j < scales; j++) {
        const size = px.length;
        let sumCs = 0;
        let sumSsim = 0;
        let count = 0;
        for (let r = 0; r + 11 <= size; r++) {
          for (let q = 0; q + 11 <= size; q++) {
            let mx = 0,
              my = 0,
              xx = 0,
              yy = 0,
              xy = 0;
            for (let u = 0; u < 11; u++) {
              for (let v = 0; v < 11; v++) {
                const k = ((g[u] as number) * (g[v] as number)) / (gs * gs);
                const a = (px[r + u] as number[])[q + v] as number;
                const b = (py[r + u] as number[])[q + v] as number;
                mx += k * a;
                my += k * b;
                xx += k * a * a;
                yy += k * b * b;
                xy += k * a * b;
              }
            }
            const cs = (2 * (xy - mx * my) + 0.03 ** 2) / (xx - mx * mx + (yy - my * my) + 0.03 ** 2);
            const l = (2 * mx * my + 0.01 ** 2) / (mx * mx + my * my + 0.01 ** 2);
            sumCs += cs;
            sumSsim += l * cs;
            count++;
          }
        }
        const v = j === scales - 1 ? sumSsim / count : sumCs / count;
        value *= Math.max(0, v) ** ((w[j] as number) / wsum);
        const half = (p: number[][]) =>
          Array.from({ length: size >> 1 }, (_, r) =>
            Array.from({ length: size >> 1 }, (_, q) => {
              const at = (rr: number, qq: number) => (p[rr] as number[])[qq] as number;
              return (at(2 * r, 2 * q) + at(2 * r + 1, 2 * q) + at(2 * r, 2 * q + 1) + at(2 * r + 1, 2 * q + 1)) / 4;
            }),
          );
        px = half(px);
        py = half(py);
      }
      total += value;
    }
  }
  return total / (n * c);
}

describe('MS-SSIM', () => {
  it('uses as many scales as the image holds the 11x11 window', () => {
    expect([16, 22, 44, 64, 128, 256].map(msSsimScales)).toEqual([1, 2, 3, 3, 4, 5]);
  });

  it('is 1 for identical images and SSIM itself at one scale', () => {
    const a = tf.tensor4d(rand(2 * 48 * 48 * 3, 3), [2, 48, 48, 3]);
    expect(scalar(msSsim(tf, a, a))).toBeCloseTo(1, 5);
    const s = tf.tensor4d(rand(2 * 16 * 16 * 3, 4), [2, 16, 16, 3]);
    const t = tf.tidy(
      () => tf.add(tf.mul(s, 0.7), tf.mul(tf.tensor4d(rand(2 * 16 * 16 * 3, 5), [2, 16, 16, 3]), 0.3)) as typeof s,
    );
    expect(scalar(msSsim(tf, s, t))).toBeCloseTo(scalar(ssim(tf, s, t)), 5);
    tf.dispose([a, s, t]);
  });

  it('of two flat images is the luminance term to the last scale weight (cs = 1 at every scale)', () => {
    const a = tf.fill([1, 64, 64, 3], 0.3) as ReturnType<typeof tf.tensor4d>;
    const b = tf.fill([1, 64, 64, 3], 0.6) as ReturnType<typeof tf.tensor4d>;
    const l = (2 * 0.3 * 0.6 + 1e-4) / (0.09 + 0.36 + 1e-4);
    const w = MS_SSIM_WEIGHTS.slice(0, 3);
    expect(scalar(msSsim(tf, a, b))).toBeCloseTo(l ** ((w[2] as number) / w.reduce((p, q) => p + q, 0)), 4);
    tf.dispose([a, b]);
  });

  it('equals the float64 reference on a structured pair (two and three scales)', () => {
    for (const s of [24, 44]) {
      const n = 2;
      const x = new Float64Array(n * s * s * 3);
      const y = new Float64Array(n * s * s * 3);
      const r = new Rng(s);
      for (let i = 0; i < x.length; i++) {
        const p = Math.floor(i / 3) % (s * s);
        x[i] = 0.5 + 0.3 * Math.sin((p % s) / 3) * Math.cos(Math.floor(p / s) / 4) + 0.1 * r.next();
        y[i] = Math.min(1, Math.max(0, 0.9 * (x[i] as number) + 0.08 + 0.4 * (r.next() - 0.5)));
      }
      const ref = msSsimReference(x, y, n, s, 3);
      const a = tf.tensor4d(Float32Array.from(x), [n, s, s, 3]);
      const b = tf.tensor4d(Float32Array.from(y), [n, s, s, 3]);
      const got = scalar(msSsim(tf, a, b));
      tf.dispose([a, b]);
      expect(ref).toBeGreaterThan(0.2);
      expect(ref).toBeLessThan(0.95);
      expect(got).toBeCloseTo(ref, 4);
    }
  });
});

describe('mask-weighted loss', () => {
  it('ignores everything outside the mask, for every loss', () => {
    const S = 24;
    const target = rand(2 * S * S * 3, 7);
    const pred = rand(2 * S * S * 3, 8);
    const mask = new Float32Array(2 * S * S).map((_, p) => (p % S < S / 2 ? 1 : 0));
    const other = pred.map((v, i) => ((mask[Math.floor(i / 3)] as number) > 0 ? v : 1 - v));
    const batch = { input: target, target, mask, n: 2, size: S, maskLoss: true };
    for (const spec of ['mae', 'mse', 'ssim', 'ms-ssim', 'mae:1,ssim:0.5']) {
      const y = tf.tensor4d(target, [2, S, S, 3]);
      const p1 = tf.tensor4d(pred, [2, S, S, 3]);
      const p2 = tf.tensor4d(other, [2, S, S, 3]);
      const l1 = scalar(tf.tidy(() => batchLoss(tf, spec, p1, y, batch)));
      const l2 = scalar(tf.tidy(() => batchLoss(tf, spec, p2, y, batch)));
      const unmasked = scalar(tf.tidy(() => batchLoss(tf, spec, p2, y, { ...batch, maskLoss: false })));
      tf.dispose([y, p1, p2]);
      expect(l1, spec).toBeCloseTo(l2, 6);
      expect(unmasked, spec).not.toBeCloseTo(l2, 3);
    }
  });
});

describe('gradient worker shares', () => {
  it('carry the loss weighting with their samples (eye and mouth planes, the mask-weighted loss)', () => {
    const n = 4;
    const px = 8 * 8;
    const plane = Float32Array.from({ length: n * px }, (_, i) => i);
    const b = {
      input: new Float32Array(n * px * 3),
      target: new Float32Array(n * px * 3),
      mask: new Float32Array(n * px),
      n,
      size: 8,
      regions: [{ plane, multiplier: 3 }],
      maskLoss: true,
    };
    const s = shareOf(b, 1, 3);
    expect(s.n).toBe(2);
    expect(s.maskLoss).toBe(true);
    expect(s.regions?.[0]?.multiplier).toBe(3);
    expect(s.regions?.[0]?.plane).toEqual(plane.slice(px, 3 * px));
  });
});

describe('learning-rate schedule', () => {
  it('warms up linearly, then stays constant or follows the cosine down to the floor', () => {
    const s = { warmup: 100, kind: 'cosine' as const, total: 1100, floor: 0.1 };
    expect([1, 50, 100].map((t) => scheduleFactor(s, t))).toEqual([0.01, 0.5, 1]);
    expect(scheduleFactor(s, 600)).toBeCloseTo(0.55, 10);
    expect(scheduleFactor(s, 1100)).toBeCloseTo(0.1, 10);
    expect(scheduleFactor(s, 5000)).toBeCloseTo(0.1, 10);
    expect(scheduleFactor({ ...s, kind: 'constant' }, 600)).toBe(1);
    expect(scheduleFactor(undefined, 1)).toBe(1);
  });
});

/** A small model at 32 px (a few seconds for a hundred steps on wasm). */
const small: AutoencoderConfig = {
  name: 'small32',
  summary: 'test',
  size: 32,
  encoder: [16, 32],
  dense: 64,
  latent: 8,
  latentChannels: 16,
  encoderUpscale: 16,
  decoder: [16],
  mask: false,
  suggestedBatch: 8,
};
const CACHE = 44; // cacheSizeFor(32, 0.75)

/** Real faces with their 68 landmarks: PASCAL VOC photos (dlib's landmarks) and 300-W, cropped square around them. */
async function realFaces(): Promise<CachedFace[]> {
  const faces: CachedFace[] = [];
  for (const json of [
    td('landmarks', 'dlib_pascal', 'dlib_pascal_landmarks.json'),
    td('landmarks', '300w', '300w_landmarks.json'),
  ]) {
    const doc = JSON.parse(await readFile(json, 'utf8')) as {
      images: Array<{ file: string; faces: Array<{ landmarks: Point2[] }> }>;
    };
    for (const im of doc.images) {
      const img = sharp(join(dirname(json), im.file));
      const { width = 0, height = 0 } = await img.metadata();
      for (const f of im.faces) {
        const xs = f.landmarks.map((p) => p[0]);
        const ys = f.landmarks.map((p) => p[1]);
        const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
        const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
        const side = Math.round(1.3 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys)));
        const left = Math.round(cx - side / 2);
        const top = Math.round(cy - side / 2);
        if (left < 0 || top < 0 || left + side > width || top + side > height) continue;
        const raw = await sharp(join(dirname(json), im.file))
          .extract({ left, top, width: side, height: side })
          .resize(CACHE, CACHE, { fit: 'fill' })
          .ensureAlpha()
          .raw()
          .toBuffer();
        const lm = f.landmarks.map((p) => [p[0] - left, p[1] - top] as Point2);
        faces.push({ rgba: new Uint8Array(raw), size: CACHE, ...landmarkRegions(lm, side, CACHE) });
      }
    }
  }
  return faces;
}

/** Seeded training of the small model; returns the losses and the model for measuring. */
function train(
  faces: CachedFace[],
  o: {
    loss: string;
    lr: number;
    iterations: number;
    eyes?: number;
    warmup?: number;
    seed?: number;
    /** The same batch pair every step, no augmentation: no batch noise in the loss curve. */
    fixedBatch?: boolean;
    track?: boolean;
  },
) {
  const model = buildAutoencoder(tf, small, o.seed ?? 11);
  const schedule = o.warmup
    ? { warmup: o.warmup, kind: 'constant' as const, total: o.iterations, floor: 0.1 }
    : undefined;
  const adam = new Adam(
    tf,
    model.params.vars,
    { learningRate: o.lr, beta1: 0.5, beta2: 0.999, epsilon: 1e-7, ...(schedule ? { schedule } : {}) },
    'device',
  );
  const aug: AugmentOptions = {
    outSize: 32,
    coverage: 0.75,
    warp: false,
    flip: true,
    transform: true,
    color: false,
    ...(o.eyes ? { regionWeights: { eyes: o.eyes, mouth: 1 } } : {}),
  };
  const half = Math.floor(faces.length / 2);
  const sideA = faces.slice(0, half);
  const sideB = faces.slice(half);
  const rng = new Rng(o.seed ?? 11);
  const losses: number[] = [];
  // The loss on a fixed set (the first 8 A faces, centre crops) before each step: the curve without batch noise.
  const tracked = sideA.slice(0, 8);
  const fixed = tf.tensor4d(Float32Array.from(tracked.flatMap((f) => [...centreCrop(f, 32, 0.75).rgb])), [
    tracked.length,
    32,
    32,
    3,
  ]);
  const fixedLoss = () => scalar(tf.tidy(() => lossOf(tf, 'mae', model.forward(fixed, 'a').face, fixed)));
  const still: AugmentOptions = { ...aug, flip: false, transform: false };
  let k = 0;
  const fixedPair = o.fixedBatch
    ? ([
        makeBatch(sideA, 8, still, rng, false, () => k++ % sideA.length),
        makeBatch(sideB, 8, still, rng, false, () => k++ % sideB.length),
      ] as const)
    : undefined;
  for (let i = 0; i < o.iterations; i++) {
    if (o.track) losses.push(fixedLoss());
    const a = fixedPair?.[0] ?? makeBatch(sideA, 8, aug, rng, false, () => rng.int(sideA.length));
    const b = fixedPair?.[1] ?? makeBatch(sideB, 8, aug, rng, false, () => rng.int(sideB.length));
    trainStep(tf, model, adam, a, b, o.loss);
  }
  if (o.track) losses.push(fixedLoss());
  fixed.dispose();
  adam.dispose();
  return { model, losses, sideA };
}

/** Mean absolute error of A->A inside the eye regions over that outside them, on the centre crops. */
function eyeToRestError(model: ReturnType<typeof buildAutoencoder>, faces: CachedFace[]): number {
  let eye = 0,
    eyeN = 0,
    rest = 0,
    restN = 0;
  for (const f of faces) {
    const { rgb } = centreCrop(f, 32, 0.75);
    const eyes = new Float32Array(32 * 32);
    makeBatch(
      [f],
      1,
      {
        outSize: 32,
        coverage: 0.75,
        warp: false,
        flip: false,
        transform: false,
        color: false,
        regionWeights: { eyes: 2, mouth: 1 },
      },
      new Rng(1),
      false,
      () => 0,
    ).regions?.[0]?.plane.forEach((v, i) => (eyes[i] = v));
    const out = tf.tidy(() => model.forward(tf.tensor4d(rgb, [1, 32, 32, 3]), 'a').face.dataSync());
    for (let p = 0; p < 32 * 32; p++) {
      let d = 0;
      for (let c = 0; c < 3; c++) d += Math.abs((out[p * 3 + c] as number) - (rgb[p * 3 + c] as number));
      if ((eyes[p] as number) > 0.5) {
        eye += d;
        eyeN++;
      } else {
        rest += d;
        restN++;
      }
    }
  }
  return eye / eyeN / (rest / restN);
}

describe.skipIf(!hasTestdata)('on real faces (seeded)', () => {
  let faces: CachedFace[];
  beforeAll(async () => {
    faces = await realFaces();
  });

  it('has real faces with eye regions drawn from their landmarks', () => {
    expect(faces.length).toBeGreaterThanOrEqual(30);
    for (const f of faces) {
      const on = (f.eyes as Uint8Array).reduce((s, v) => s + (v > 0 ? 1 : 0), 0) / (CACHE * CACHE);
      expect(on).toBeGreaterThan(0.005);
      expect(on).toBeLessThan(0.15);
    }
  });

  it('the eye multiplier lowers the eye-region error relative to the rest', { timeout: 120_000 }, () => {
    // Eight faces a side, the same every step: what the loss weights shape is learned first, without batch noise.
    const plain = train(faces, { loss: 'mae', lr: 1e-3, iterations: 40, fixedBatch: true });
    const weighted = train(faces, { loss: 'mae', lr: 1e-3, iterations: 40, eyes: 5, fixedBatch: true });
    const r0 = eyeToRestError(plain.model, plain.sideA.slice(0, 8));
    const r1 = eyeToRestError(weighted.model, weighted.sideA.slice(0, 8));
    console.log(
      `eye/rest error after 40 iterations: without multiplier ${r0.toFixed(3)}, eye multiplier 5 ${r1.toFixed(3)}`,
    );
    plain.model.dispose();
    weighted.model.dispose();
    expect(r1).toBeLessThan(r0 * 0.8);
  });

  it(
    'warmup keeps the first 50 iterations free of the loss spike a cold start at the same rate shows',
    { timeout: 300_000 },
    () => {
      // Adam's first steps move every weight by about the full rate (its second moments are still ~0): at 5e-3 a
      // cold start overshoots within a few steps. The largest loss on a fixed set (8 A faces) over its value
      // before training, same batch every step (so a rise is the optimizer's, not a hard batch's), over the first
      // 50 iterations; a 50-step warmup reaches the full rate at the last of them. (At 1e-2 the rate itself is
      // too high for this model: a warmed-up run blows up too once it gets there, at iteration ~40.)
      const spike = (l: number[]) => Math.max(...l.slice(1)) / (l[0] as number);
      const cold = train(faces, { loss: 'mae', lr: 5e-3, iterations: 50, track: true, fixedBatch: true });
      const warm = train(faces, { loss: 'mae', lr: 5e-3, iterations: 50, track: true, fixedBatch: true, warmup: 50 });
      console.log(
        `largest loss over the initial one in 50 iterations at lr 5e-3: cold ${spike(cold.losses).toFixed(3)}, warmup 50 ${spike(warm.losses).toFixed(3)}`,
      );
      cold.model.dispose();
      warm.model.dispose();
      expect(spike(cold.losses)).toBeGreaterThan(1.2);
      // Warmed up, the loss never rises 10% above its start (cold: 35%). Not tighter: past ~3e-3 this fixed-batch
      // loss wobbles by up to a third of its current level, and which wobble is largest moves with float32 rounding
      // (0.994 before the wasm kernels of issue 11 changed a product's summation order, 1.037 after).
      expect(spike(warm.losses)).toBeLessThan(1.1);
    },
  );
});

describe.skipIf(!hasTestdata)('warp to landmarks', () => {
  /** 68 points on a 4-pixel grid inside a 44-pixel face, at source pixel centres of the output (x + 0.5). */
  const grid = (dx = 0, dy = 0) =>
    Float32Array.from({ length: 136 }, (_, i) => {
      const k = i >> 1;
      return i % 2 === 0 ? 8.5 + 4 * (k % 8) + dx : 6.5 + 4 * Math.floor(k / 8) + dy;
    });

  it('the displacement is exact at the landmarks and zero on the border', () => {
    const own = grid(2, 1);
    const partner = grid();
    const f = landmarkWarp(own, partner, 44);
    expect(f(8.5, 6.5)).toEqual([2, 1]);
    expect(f(36.5, 34.5)).toEqual([2, 1]);
    expect(f(0, 0)).toEqual([0, 0]);
    expect(f(43, 21.5)).toEqual([0, 0]);
    const [mx, my] = f(22, 20);
    expect(mx).toBeGreaterThan(1.5); // inside the landmarks: nearly the landmarks' shift
    expect(my).toBeGreaterThan(0.75);
  });

  it("the input shows the face's own points where the partner has its points; the target is unwarped", async () => {
    const [face] = await realFaces();
    const f: CachedFace = { ...(face as CachedFace), landmarks: grid(2, 1), partners: [grid()] };
    const o: AugmentOptions = {
      outSize: 44,
      coverage: 1,
      warp: false,
      flip: false,
      transform: false,
      color: false,
      warpToLandmarks: true,
    };
    const input = new Float32Array(44 * 44 * 3);
    const target = new Float32Array(44 * 44 * 3);
    augmentInto(f, o, new Rng(3), input, target, 0);
    const px = (img: Float32Array, x: number, y: number) => [...img.subarray((y * 44 + x) * 3, (y * 44 + x) * 3 + 3)];
    for (const k of [0, 9, 27, 40, 67]) {
      const x = Math.floor(8.5 + 4 * (k % 8));
      const y = Math.floor(6.5 + 4 * Math.floor(k / 8));
      const got = px(input, x, y);
      const want = px(target, x + 2, y + 1);
      for (let c = 0; c < 3; c++) expect(got[c]).toBeCloseTo(want[c] as number, 5);
    }
    // Without partners the same options leave the input unwarped (no random warp asked for).
    augmentInto({ ...f, partners: [] }, o, new Rng(3), input, target, 0);
    expect(input).toEqual(target);
  });

  it('links each face to the nearest faces of the other side', () => {
    const face = (dx: number): CachedFace => ({ rgba: new Uint8Array(4), size: 1, landmarks: grid(dx, 0) });
    const a = [face(0), face(10)];
    const b = [face(9), face(1), face(4)];
    linkPartners(a, b, 2);
    expect(a[0]?.partners).toEqual([b[1]?.landmarks, b[2]?.landmarks]);
    expect(a[1]?.partners).toEqual([b[0]?.landmarks, b[2]?.landmarks]);
    expect(b[0]?.partners?.[0]).toBe(a[1]?.landmarks);
  });
});
