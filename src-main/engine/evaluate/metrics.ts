/**
 * Swap-quality metrics, each a plain function of images or landmarks with a documented definition, so the
 * evaluator stays independent of anything the trainer optimises. Landmarks are 68-point iBUG, 0-based.
 */
import type { Point2 } from '../face/types';

/** Peak signal-to-noise ratio in dB of two same-sized 8-bit images (Infinity when identical). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error('psnr: images differ in size');
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    se += d * d;
  }
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/**
 * Mean SSIM (Wang et al. 2004, https://doi.org/10.1109/TIP.2003.819861) of two 8-bit images with `channels`
 * interleaved channels: luminance Y = 0.299 R + 0.587 G + 0.114 B for 3 channels, an 11x11 Gaussian window
 * (sigma 1.5), K1 = 0.01, K2 = 0.03, L = 255, averaged over the valid window positions.
 */
export function ssim(a: Uint8Array, b: Uint8Array, width: number, height: number, channels = 3): number {
  const ya = luminance(a, width, height, channels);
  const yb = luminance(b, width, height, channels);
  const g = gaussian1d(11, 1.5);
  const blur = (x: Float32Array) => separableBlur(x, width, height, g);
  const prod = (x: Float32Array, y: Float32Array) => x.map((v, i) => v * (y[i] as number));
  const muA = blur(ya);
  const muB = blur(yb);
  const sAA = blur(prod(ya, ya));
  const sBB = blur(prod(yb, yb));
  const sAB = blur(prod(ya, yb));
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const r = Math.floor(g.length / 2);
  let sum = 0;
  let n = 0;
  for (let y = r; y < height - r; y++) {
    for (let x = r; x < width - r; x++) {
      const i = y * width + x;
      const ma = muA[i] as number;
      const mb = muB[i] as number;
      const va = (sAA[i] as number) - ma * ma;
      const vb = (sBB[i] as number) - mb * mb;
      const cov = (sAB[i] as number) - ma * mb;
      sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      n++;
    }
  }
  return n ? sum / n : 1;
}

function luminance(img: Uint8Array, width: number, height: number, channels: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const o = i * channels;
    out[i] =
      channels >= 3
        ? 0.299 * (img[o] as number) + 0.587 * (img[o + 1] as number) + 0.114 * (img[o + 2] as number)
        : (img[o] as number);
  }
  return out;
}

function gaussian1d(size: number, sigma: number): Float32Array {
  const k = new Float32Array(size);
  const r = Math.floor(size / 2);
  let s = 0;
  for (let i = 0; i < size; i++) s += k[i] = Math.exp(-((i - r) ** 2) / (2 * sigma * sigma));
  return k.map((v) => v / s);
}

/** Separable blur with clamped edges. */
function separableBlur(x: Float32Array, w: number, h: number, k: Float32Array): Float32Array {
  const r = Math.floor(k.length / 2);
  const tmp = new Float32Array(x.length);
  const out = new Float32Array(x.length);
  for (let y = 0; y < h; y++)
    for (let i = 0; i < w; i++) {
      let s = 0;
      for (let j = -r; j <= r; j++)
        s += (k[j + r] as number) * (x[y * w + Math.min(w - 1, Math.max(0, i + j))] as number);
      tmp[y * w + i] = s;
    }
  for (let y = 0; y < h; y++)
    for (let i = 0; i < w; i++) {
      let s = 0;
      for (let j = -r; j <= r; j++)
        s += (k[j + r] as number) * (tmp[Math.min(h - 1, Math.max(0, y + j)) * w + i] as number);
      out[y * w + i] = s;
    }
  return out;
}

/** Cosine similarity of two descriptors, in [-1, 1]. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

/** Element-wise mean of descriptors, renormalised to unit length (an identity's centre). */
export function meanDescriptor(ds: ReadonlyArray<ArrayLike<number>>): number[] {
  const first = ds[0];
  if (!first) return [];
  const m = new Array<number>(first.length).fill(0);
  for (const d of ds) for (let i = 0; i < m.length; i++) m[i] = (m[i] as number) + (d[i] as number);
  const n = Math.hypot(...m) || 1;
  return m.map((v) => v / n);
}

const dist = (lm: readonly Point2[], i: number, j: number) => {
  const a = lm[i] as Point2;
  const b = lm[j] as Point2;
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
};

/** Outer-eye-corner distance |p36 - p45|, the scale every landmark metric is normalised by. */
export function interOcular(lm: readonly Point2[]): number {
  return dist(lm, 36, 45);
}

/**
 * Expression descriptors from landmarks, each scale-free:
 * - mouth: inner-lip opening |p62 - p66| over mouth width |p48 - p54|;
 * - eyes: eye aspect ratio (|p37-p41| + |p38-p40|) / (2 |p36-p39|), averaged with the right eye (43-47, 42-45);
 * - brows: mean distance of the brow points (17-26) to the line through the outer eye corners, over |p36 - p45|.
 */
export function expressionRatios(lm: readonly Point2[]): { mouth: number; eyes: number; brows: number } {
  const mouth = dist(lm, 62, 66) / dist(lm, 48, 54);
  const left = (dist(lm, 37, 41) + dist(lm, 38, 40)) / (2 * dist(lm, 36, 39));
  const right = (dist(lm, 43, 47) + dist(lm, 44, 46)) / (2 * dist(lm, 42, 45));
  const [ax, ay] = lm[36] as Point2;
  const [bx, by] = lm[45] as Point2;
  const len = Math.hypot(bx - ax, by - ay);
  let brows = 0;
  for (let i = 17; i <= 26; i++) {
    const [px, py] = lm[i] as Point2;
    brows += Math.abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / len;
  }
  return { mouth, eyes: (left + right) / 2, brows: brows / 10 / len };
}

/** Mean absolute difference of the three expression ratios. */
export function expressionError(a: readonly Point2[], b: readonly Point2[]): number {
  const x = expressionRatios(a);
  const y = expressionRatios(b);
  return (Math.abs(x.mouth - y.mouth) + Math.abs(x.eyes - y.eyes) + Math.abs(x.brows - y.brows)) / 3;
}

/**
 * Landmark jitter of a track: for each pair of consecutive frames, the mean movement of the 68 points over the
 * inter-ocular distance; returns the per-pair values (empty for fewer than two frames).
 */
export function landmarkJitter(track: ReadonlyArray<readonly Point2[]>): number[] {
  const out: number[] = [];
  for (let f = 1; f < track.length; f++) {
    const a = track[f - 1] as readonly Point2[];
    const b = track[f] as readonly Point2[];
    let s = 0;
    for (let i = 0; i < 68; i++)
      s += Math.hypot((a[i] as Point2)[0] - (b[i] as Point2)[0], (a[i] as Point2)[1] - (b[i] as Point2)[1]);
    out.push(s / 68 / ((interOcular(a) + interOcular(b)) / 2));
  }
  return out;
}

/**
 * Flicker of a region between two consecutive frames: the mean absolute change of the 8-bit values inside the
 * mask (mask > 0.5), in levels.
 */
export function regionFlicker(prev: Uint8Array, next: Uint8Array, mask: ArrayLike<number>, channels = 3): number {
  let s = 0;
  let n = 0;
  for (let p = 0; p < mask.length; p++) {
    if ((mask[p] as number) <= 0.5) continue;
    for (let c = 0; c < channels; c++) {
      s += Math.abs((prev[p * channels + c] as number) - (next[p * channels + c] as number));
      n++;
    }
  }
  return n ? s / n : 0;
}

/** Signed smallest difference of two angles in degrees, in (-180, 180]. */
export function angleDiff(a: number, b: number): number {
  let d = (a - b) % 360;
  if (d > 180) d -= 360;
  if (d <= -180) d += 360;
  return d;
}

/** Mean and 5th percentile of a list (the report's summary of a per-frame metric). */
export function summarise(values: readonly number[]): { mean: number; p5: number; p95: number; n: number } {
  const v = values
    .filter(Number.isFinite)
    .slice()
    .sort((x, y) => x - y);
  if (v.length === 0) return { mean: NaN, p5: NaN, p95: NaN, n: 0 };
  const q = (p: number) => v[Math.min(v.length - 1, Math.max(0, Math.round(p * (v.length - 1))))] as number;
  return { mean: v.reduce((a, b) => a + b, 0) / v.length, p5: q(0.05), p95: q(0.95), n: v.length };
}

/**
 * High-frequency energy of a region: the variance of the 4-neighbour Laplacian (kernel [0 1 0; 1 -4 1; 0 1 0],
 * OpenCV's `Laplacian` with ksize 1) of the luminance, over the pixels where `mask` > 0.5 and whose four
 * neighbours are inside the image. The classic focus measure (Pech-Pacheco et al., ICPR 2000): a blur lowers it
 * roughly with the square of the lost detail. NaN when no pixel qualifies.
 */
export function laplacianVariance(
  img: Uint8Array,
  width: number,
  height: number,
  mask: ArrayLike<number>,
  channels = 3,
): number {
  const y = luminance(img, width, height, channels);
  let s = 0;
  let ss = 0;
  let n = 0;
  for (let r = 1; r < height - 1; r++) {
    for (let c = 1; c < width - 1; c++) {
      const i = r * width + c;
      if ((mask[i] as number) <= 0.5) continue;
      const l =
        (y[i - 1] as number) +
        (y[i + 1] as number) +
        (y[i - width] as number) +
        (y[i + width] as number) -
        4 * (y[i] as number);
      s += l;
      ss += l * l;
      n++;
    }
  }
  return n ? ss / n - (s / n) ** 2 : NaN;
}
