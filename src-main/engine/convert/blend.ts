/**
 * Puts one swapped face back into its frame: warps the model's output into the face's region of interest
 * (ROI), builds the mask there, erodes/dilates it, matches colour, sharpens, feathers, optionally Poisson-clones,
 * and alpha-composites. Only ROI pixels with a non-zero mask change; every other byte of the frame is untouched.
 *
 * Order follows faceswap's convert: mask -> erosion -> colour (statistics over the eroded mask) -> sharpen ->
 * blur (feather) -> seamless -> composite.
 */
import type { ConvertOptions } from '../../../src-shared/stages/convert';
import { assertNever } from '../../../src-shared/errors';
import type { Matrix2x3, Point2, RgbImage } from '../face/types';
import { invertMatrix, matrixScale } from '../face/umeyama';
import { matchColor } from './color';
import { convexHull, erodeDilate, fillConvexPolygon, gaussianBlur } from '../image/raster';
import { seamlessClone } from './seamless';
import { sharpenFace } from './sharpen';

export type BlendOptions = Pick<
  ConvertOptions,
  'mask' | 'blurSize' | 'erosion' | 'color' | 'seamless' | 'sharpen' | 'sharpenAmount'
>;

export const DEFAULT_BLEND: BlendOptions = {
  mask: 'facehull',
  blurSize: 5,
  erosion: 0,
  color: 'avg',
  seamless: false,
  sharpen: 'none',
  sharpenAmount: 100,
};

export interface Roi {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface BlendResult {
  roi: Roi;
  /** Final per-pixel opacity of the new face in the ROI (0..1). */
  alpha: Float32Array;
  /** The eroded mask before feathering (the colour statistics region is this AND `valid`). */
  mask: Float32Array;
  /** 1 where the model's square covers the pixel. */
  valid: Float32Array;
  /** Side of the model's square in frame pixels. */
  faceSide: number;
}

export interface ModelFace {
  /** Frame pixels -> model output pixels (side `size`). */
  matrix: Matrix2x3;
  size: number;
  /** Model output, RGB interleaved 0..1, size x size. */
  face: Float32Array;
  /** Mask the model predicted (0..1, size x size), when it learns one. */
  predictedMask?: Float32Array;
  /** 68 landmarks in frame pixels (facehull masks). */
  landmarks?: readonly Point2[];
}

/** Feather sigma in pixels for `--blur-size` percent of a face of `faceSide` pixels (kernel ~ 4 sigma). */
export function featherSigma(blurSize: number, faceSide: number): number {
  return ((blurSize / 100) * faceSide) / 4;
}

/** Erosion radius in pixels (negative: dilation) for `--erosion` percent. */
export function erosionRadius(erosion: number, faceSide: number): number {
  return Math.round((erosion / 100) * faceSide);
}

/**
 * The ROI of a face, padded for dilation and feathering and clipped to the frame: the landmarks' box for the hull
 * masks (the mask is zero elsewhere), the model square for the others.
 */
export function faceRoi(
  mf: Pick<ModelFace, 'matrix' | 'size' | 'landmarks'>,
  width: number,
  height: number,
  opts: Pick<BlendOptions, 'blurSize' | 'erosion' | 'mask'>,
): Roi | null {
  const inv = invertMatrix(mf.matrix);
  const s = mf.size;
  const hullOnly = (opts.mask === 'facehull' || opts.mask === 'facehullandrect') && (mf.landmarks?.length ?? 0) >= 3;
  const pts: Array<readonly number[]> = hullOnly
    ? [...(mf.landmarks ?? [])]
    : [
        [-0.5, -0.5],
        [s - 0.5, -0.5],
        [-0.5, s - 0.5],
        [s - 0.5, s - 0.5],
      ].map(([u, v]) => [inv[0][0] * u! + inv[0][1] * v! + inv[0][2], inv[1][0] * u! + inv[1][1] * v! + inv[1][2]]);
  const side = s / matrixScale(mf.matrix);
  const pad = Math.max(0, -erosionRadius(opts.erosion, side)) + Math.ceil(3 * featherSigma(opts.blurSize, side)) + 2;
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const p of pts) {
    x0 = Math.min(x0, p[0]!);
    y0 = Math.min(y0, p[1]!);
    x1 = Math.max(x1, p[0]!);
    y1 = Math.max(y1, p[1]!);
  }
  const X0 = Math.max(0, Math.floor(x0 - pad)),
    Y0 = Math.max(0, Math.floor(y0 - pad));
  const X1 = Math.min(width, Math.ceil(x1 + pad) + 1),
    Y1 = Math.min(height, Math.ceil(y1 + pad) + 1);
  if (X1 <= X0 || Y1 <= Y0) return null;
  return { x: X0, y: Y0, w: X1 - X0, h: Y1 - Y0 };
}

/** Copies a ROI of an RGB24 frame. */
export function cropRgb(frame: RgbImage, roi: Roi): Uint8Array {
  const out = new Uint8Array(roi.w * roi.h * 3);
  for (let y = 0; y < roi.h; y++) {
    const s = ((roi.y + y) * frame.width + roi.x) * 3;
    out.set(frame.data.subarray(s, s + roi.w * 3), y * roi.w * 3);
  }
  return out;
}

/**
 * Blends one model face into `frame` (RGB24, modified in place). Returns what it did (ROI and masks), or null
 * when the face lies outside the frame.
 */
export function blendFace(frame: RgbImage, mf: ModelFace, opts: BlendOptions): BlendResult | null {
  if (opts.mask === 'predicted' && !mf.predictedMask)
    throw new Error('blendFace: mask "predicted" without a predicted mask');
  if ((opts.mask === 'facehull' || opts.mask === 'facehullandrect') && !(mf.landmarks && mf.landmarks.length >= 3)) {
    throw new Error(`blendFace: mask "${opts.mask}" needs landmarks`);
  }
  const roi = faceRoi(mf, frame.width, frame.height, opts);
  if (!roi) return null;
  const { w, h } = roi,
    n = w * h,
    s = mf.size;
  const faceSide = s / matrixScale(mf.matrix);
  const orig = cropRgb(frame, roi);

  // 1. New face into the ROI (bilinear), the original where the model square does not reach.
  const W = new Float32Array(n * 3);
  const valid = new Float32Array(n);
  const pm = opts.mask === 'predicted' ? new Float32Array(n) : undefined;
  const m = mf.matrix,
    f = mf.face,
    pmask = mf.predictedMask;
  for (let y = 0; y < h; y++) {
    const fy = roi.y + y;
    for (let x = 0; x < w; x++) {
      const fx = roi.x + x,
        i = y * w + x;
      const u = m[0][0] * fx + m[0][1] * fy + m[0][2];
      const v = m[1][0] * fx + m[1][1] * fy + m[1][2];
      if (u < -0.5 || v < -0.5 || u > s - 0.5 || v > s - 0.5) {
        W[i * 3] = orig[i * 3]!;
        W[i * 3 + 1] = orig[i * 3 + 1]!;
        W[i * 3 + 2] = orig[i * 3 + 2]!;
        continue;
      }
      valid[i] = 1;
      const uc = Math.min(s - 1, Math.max(0, u)),
        vc = Math.min(s - 1, Math.max(0, v));
      const u0 = Math.min(s - 2, Math.floor(uc)),
        v0 = Math.min(s - 2, Math.floor(vc));
      const au = uc - u0,
        av = vc - v0;
      const w00 = (1 - au) * (1 - av),
        w10 = au * (1 - av),
        w01 = (1 - au) * av,
        w11 = au * av;
      const p = v0 * s + u0;
      for (let c = 0; c < 3; c++) {
        W[i * 3 + c] =
          255 *
          (w00 * f[p * 3 + c]! + w10 * f[(p + 1) * 3 + c]! + w01 * f[(p + s) * 3 + c]! + w11 * f[(p + s + 1) * 3 + c]!);
      }
      if (pm && pmask) pm[i] = w00 * pmask[p]! + w10 * pmask[p + 1]! + w01 * pmask[p + s]! + w11 * pmask[p + s + 1]!;
    }
  }

  // 2. Mask.
  let mask: Float32Array;
  const hull = () =>
    fillConvexPolygon(convexHull((mf.landmarks ?? []).map((p) => [p[0] - roi.x, p[1] - roi.y] as Point2)), w, h);
  switch (opts.mask) {
    case 'rect':
      mask = Float32Array.from(valid);
      break;
    case 'facehull':
      mask = hull();
      break;
    case 'facehullandrect': {
      mask = hull();
      for (let i = 0; i < n; i++) mask[i] = mask[i]! * valid[i]!;
      break;
    }
    case 'predicted':
      mask = pm!;
      break;
    default:
      assertNever(opts.mask);
  }

  // 3. Erosion (positive) or dilation (negative), on the thresholded mask; a soft predicted mask stays soft
  //    when there is nothing to erode.
  const er = erosionRadius(opts.erosion, faceSide);
  if (er !== 0) mask = erodeDilate(mask, w, h, er);

  // 4. Colour statistics over the mask where the new face exists; 5. sharpen.
  const region = new Float32Array(n);
  for (let i = 0; i < n; i++) region[i] = mask[i]! >= 0.5 && valid[i]! > 0 ? 1 : 0;
  matchColor(opts.color, { face: W, orig, region, valid });
  sharpenFace(opts.sharpen, { face: W, w, h, faceSide, amount: opts.sharpenAmount, valid });

  // 6. Feather.
  const sigma = featherSigma(opts.blurSize, faceSide);
  const alpha = sigma >= 0.5 ? gaussianBlur(mask, w, h, sigma) : Float32Array.from(mask);

  // 7. Gradient-domain clone over everything that will be blended.
  if (opts.seamless) {
    const domain = new Float32Array(n);
    for (let i = 0; i < n; i++) domain[i] = alpha[i]! > 1 / 512 ? 1 : 0;
    seamlessClone({ face: W, orig, domain, w, h });
  }

  // 8. Composite.
  const out = frame.data;
  for (let y = 0; y < h; y++) {
    let o = ((roi.y + y) * frame.width + roi.x) * 3;
    for (let x = 0; x < w; x++, o += 3) {
      const i = y * w + x,
        a = alpha[i]!;
      if (a <= 1 / 512) continue;
      for (let c = 0; c < 3; c++) {
        const F = orig[i * 3 + c]!;
        const v = F + a * (W[i * 3 + c]! - F);
        out[o + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
      }
    }
  }
  return { roi, alpha, mask, valid, faceSide };
}
