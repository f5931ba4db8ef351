/**
 * Reconstruction losses, faceswap's way: a weighted list of terms (`mae:1,ssim:0.5`), each over the whole face,
 * plus the same terms again on the eye and mouth regions times (multiplier - 1), and for masked trainers over the
 * masked face only (y and prediction both multiplied by the mask: faceswap's "penalized mask loss").
 * - mae, mse: mean absolute / squared error;
 * - ssim: DSSIM = (1 - SSIM) / 2, SSIM per channel with an 11x11 Gaussian window (sigma 1.5) over the valid region;
 * - ms-ssim: (1 - MS-SSIM) / 2, multi-scale SSIM (Wang, Simoncelli & Bovik 2003) with the standard five scale
 *   weights, as many scales as the image holds the 11x11 window (3 at 64 px, 4 at 128 px), weights renormalised.
 * Hand-written on tfjs-core ops: tfjs has no SSIM (tf.image.ssim is Python TensorFlow only).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { Batch } from './augment';

type Tf = typeof TfCore;
type T4 = TfCore.Tensor4D;
type Scalar = TfCore.Scalar;

export const LOSS_FUNCTIONS = ['mae', 'mse', 'ssim', 'ms-ssim'] as const;
export type LossFunction = (typeof LOSS_FUNCTIONS)[number];
export interface LossTerm {
  fn: LossFunction;
  weight: number;
}

/**
 * Parses a loss list: terms separated by `,` or `+`, each `name` or `name:weight` (weight > 0, default 1), for
 * example `mae`, `mae+ssim`, `mae:1,ms-ssim:0.5`. Throws a one-line message on anything else.
 */
export function parseLossSpec(spec: string): LossTerm[] {
  const parts = spec
    .split(/[,+]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (parts.length === 0) throw new Error(`'${spec}': no loss given`);
  const seen = new Set<string>();
  return parts.map((p) => {
    const m = /^([a-z-]+)(?::(\S+))?$/.exec(p);
    const fn = m?.[1] as LossFunction | undefined;
    if (!m || !fn || !(LOSS_FUNCTIONS as readonly string[]).includes(fn)) {
      throw new Error(`'${p}': unknown loss (have ${LOSS_FUNCTIONS.join(', ')}; weights as name:weight)`);
    }
    if (seen.has(fn)) throw new Error(`'${spec}': ${fn} is given twice`);
    seen.add(fn);
    const weight = m[2] === undefined ? 1 : Number(m[2]);
    if (!Number.isFinite(weight) || weight <= 0) throw new Error(`'${p}': the weight must be a number > 0`);
    return { fn, weight };
  });
}

const parsed = new Map<string, LossTerm[]>();

/** `parseLossSpec`, remembered (the training step asks for the same list every iteration). */
export function lossTerms(spec: string): LossTerm[] {
  let terms = parsed.get(spec);
  if (!terms) parsed.set(spec, (terms = parseLossSpec(spec)));
  return terms;
}

const SSIM_WINDOW = 11;
const SSIM_SIGMA = 1.5;
/** Wang et al.'s MS-SSIM scale weights, finest first. */
export const MS_SSIM_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

const windows = new Map<string, T4>();

/** 11x11 Gaussian (sigma 1.5) window as a [11,11,1,1] conv filter, cached per backend. */
function gaussian(tf: Tf): T4 {
  const key = tf.getBackend();
  let w = windows.get(key);
  if (!w || w.isDisposed) {
    const k = SSIM_WINDOW;
    const r = (k - 1) / 2;
    const g: number[] = [];
    for (let i = 0; i < k; i++) g.push(Math.exp(-((i - r) ** 2) / (2 * SSIM_SIGMA * SSIM_SIGMA)));
    const s = g.reduce((a, b) => a + b, 0);
    const data = new Float32Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) data[i * k + j] = ((g[i] ?? 0) * (g[j] ?? 0)) / (s * s);
    w = tf.keep(tf.tensor4d(data, [k, k, 1, 1]));
    windows.set(key, w);
  }
  return w;
}

/** Each channel of each image as its own 1-channel plane: [N,H,W,C] -> [N*C,H,W,1]. */
function toPlanes(tf: Tf, x: T4): T4 {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1]) as T4;
}

/** Luminance (l) and contrast-structure (cs) maps of SSIM for 1-channel planes in 0..1 (valid region). */
function ssimMaps(tf: Tf, x: T4, y: T4): { l: T4; cs: T4 } {
  const win = gaussian(tf);
  const blur = (t: T4) => tf.conv2d(t, win, 1, 'valid');
  const mx = blur(x);
  const my = blur(y);
  const sxx = tf.sub(blur(tf.mul(x, x)), tf.mul(mx, mx));
  const syy = tf.sub(blur(tf.mul(y, y)), tf.mul(my, my));
  const sxy = tf.sub(blur(tf.mul(x, y)), tf.mul(mx, my));
  const c1 = 0.01 ** 2;
  const c2 = 0.03 ** 2;
  const l = tf.div(tf.add(tf.mul(tf.mul(mx, my), 2), c1), tf.add(tf.add(tf.mul(mx, mx), tf.mul(my, my)), c1)) as T4;
  const cs = tf.div(tf.add(tf.mul(sxy, 2), c2), tf.add(tf.add(sxx, syy), c2)) as T4;
  return { l, cs };
}

/** Mean SSIM over the batch (per channel, Gaussian window, valid region), images in 0..1: a scalar. */
export function ssim(tf: Tf, a: T4, b: T4): Scalar {
  return tf.tidy(() => {
    const { l, cs } = ssimMaps(tf, toPlanes(tf, a), toPlanes(tf, b));
    return tf.mean(tf.mul(l, cs)) as Scalar;
  });
}

/** Number of MS-SSIM scales an image of `size` pixels holds (each halving must still fit the window). */
export function msSsimScales(size: number): number {
  let n = 1;
  while (n < MS_SSIM_WEIGHTS.length && Math.floor(size / 2 ** n) >= SSIM_WINDOW) n++;
  return n;
}

/**
 * Mean multi-scale SSIM of a batch (images in 0..1): prod_j mean(cs_j)^w_j * mean(l_M cs_M)^w_M over the scales the
 * image holds, halving by 2x2 average pooling, per image and channel, then averaged. Negative cs values are
 * clipped to 0 (as TensorFlow's ssim_multiscale does), so the power stays real.
 */
export function msSsim(tf: Tf, a: T4, b: T4): Scalar {
  return tf.tidy(() => {
    const scales = msSsimScales(Math.min(a.shape[1], a.shape[2]));
    const w = MS_SSIM_WEIGHTS.slice(0, scales);
    const total = w.reduce((s, v) => s + v, 0);
    let x = toPlanes(tf, a);
    let y = toPlanes(tf, b);
    const planes = x.shape[0];
    let acc: TfCore.Tensor = tf.ones([planes]);
    for (let j = 0; j < scales; j++) {
      const { l, cs } = ssimMaps(tf, x, y);
      const perPlane = (t: T4) => tf.mean(tf.reshape(t, [planes, -1]), 1);
      const v = j === scales - 1 ? perPlane(tf.mul(l, cs) as T4) : perPlane(cs);
      acc = tf.mul(acc, tf.pow(tf.relu(v), (w[j] as number) / total));
      if (j < scales - 1) {
        x = tf.avgPool(x, 2, 2, 'valid');
        y = tf.avgPool(y, 2, 2, 'valid');
      }
    }
    return tf.mean(acc) as Scalar;
  });
}

/** One loss function on a prediction and its target: a scalar, 0 when equal. */
export function lossOf(tf: Tf, fn: LossFunction, pred: T4, target: T4): Scalar {
  switch (fn) {
    case 'mae':
      return tf.mean(tf.abs(tf.sub(pred, target))) as Scalar;
    case 'mse':
      return tf.mean(tf.squaredDifference(pred, target)) as Scalar;
    case 'ssim':
      return tf.div(tf.sub(1, ssim(tf, pred, target)), 2) as Scalar;
    case 'ms-ssim':
      return tf.div(tf.sub(1, msSsim(tf, pred, target)), 2) as Scalar;
  }
}

/** Weighted sum of a loss list's terms. */
export function weightedLoss(tf: Tf, terms: readonly LossTerm[], pred: T4, target: T4): Scalar {
  let sum: Scalar | null = null;
  for (const t of terms) {
    const l = tf.mul(lossOf(tf, t.fn, pred, target), t.weight) as Scalar;
    sum = sum ? (tf.add(sum, l) as Scalar) : l;
  }
  if (!sum) throw new Error('empty loss list');
  return sum;
}

/** Region weights of a batch: planes [N,S,S,1] in 0..1 and the extra weight each region's pixels get. */
export interface LossRegions {
  /** Multiply prediction and target by this mask first (masked trainers' penalized mask loss). */
  mask?: T4;
  /** Eye and mouth planes with their multipliers (the region's terms count `multiplier - 1` more). */
  extra?: ReadonlyArray<{ plane: T4; multiplier: number }>;
}

/**
 * The reconstruction loss of a batch: the loss list on the whole (or masked) face, plus, for each region with a
 * multiplier above 1, the loss list on that region alone times (multiplier - 1) (faceswap's eye and mouth
 * multipliers: for MAE a region pixel counts `multiplier` times).
 */
export function reconstructionLoss(
  tf: Tf,
  list: string | readonly LossTerm[],
  pred: T4,
  target: T4,
  regions: LossRegions = {},
): Scalar {
  const terms = typeof list === 'string' ? lossTerms(list) : list;
  const p = regions.mask ? (tf.mul(pred, regions.mask) as T4) : pred;
  const y = regions.mask ? (tf.mul(target, regions.mask) as T4) : target;
  let loss = weightedLoss(tf, terms, p, y);
  for (const r of regions.extra ?? []) {
    if (r.multiplier <= 1) continue;
    const extra = weightedLoss(tf, terms, tf.mul(p, r.plane) as T4, tf.mul(y, r.plane) as T4);
    loss = tf.add(loss, tf.mul(extra, r.multiplier - 1)) as Scalar;
  }
  return loss;
}

/**
 * The face loss of one side's batch: the loss list `spec` (default `mae`), over the masked face when the batch
 * asks for the mask-weighted loss, with the batch's eye and mouth planes and multipliers.
 */
export function batchLoss(tf: Tf, spec: string | undefined, pred: T4, target: T4, batch: Batch): Scalar {
  const plane = (data: Float32Array) => tf.tensor4d(data, [batch.n, batch.size, batch.size, 1]);
  return reconstructionLoss(tf, spec ?? 'mae', pred, target, {
    ...(batch.maskLoss && batch.mask ? { mask: plane(batch.mask) } : {}),
    ...(batch.regions
      ? { extra: batch.regions.map((r) => ({ plane: plane(r.plane), multiplier: r.multiplier })) }
      : {}),
  });
}
