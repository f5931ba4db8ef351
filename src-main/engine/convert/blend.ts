/**
 * Puts one swapped face back into its frame: warps the model's output into the face's region of interest
 * (ROI), builds the mask there, erodes/dilates it, matches colour, sharpens, feathers, optionally Poisson-clones,
 * and alpha-composites. Only ROI pixels with a non-zero mask change; every other byte of the frame is untouched.
 *
 * Order follows faceswap's convert: mask -> erosion -> colour (statistics over the eroded mask) -> sharpen ->
 * blur (feather) -> seamless -> composite. `--mask` names one region mask or several joined by '+', which
 * intersect; `+hands` cuts the dilated hand hulls out of the result, hard: the feather never reaches into a hand,
 * so its pixels stay the input's exactly (docs/masks.md).
 */
import { parseMaskSpec, type ConvertOptions, type MaskSpec } from '../../../src-shared/stages/convert';
import { assertNever } from '../../../src-shared/errors';
import type { Matrix2x3, Point2, RgbImage } from '../face/types';
import { invertMatrix, matrixScale } from '../face/umeyama';
import { matchColor } from './color';
import { convexHull, erodeDilate, fillConvexPolygon, gaussianBlur, pointBounds } from '../image/raster';
import { bilinearTap, newTap } from '../image/bilinear';
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
  /**
   * Mask planes drawn on the aligned face (`segment`, `painted`; 0..1, `size` x `size`, row-major), with the
   * alignment matrix that maps frame pixels to their pixels.
   */
  alignedMasks?: { matrix: Matrix2x3; size: number; segment?: Float32Array; painted?: Float32Array };
  /** Dilated convex hulls of the hands over this face, frame pixels (`+hands`); empty when there is none. */
  hands?: ReadonlyArray<readonly Point2[]>;
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
  const spec = parseMaskSpec(opts.mask);
  const hullOnly =
    spec.regions.some((r) => r === 'facehull' || r === 'facehullandrect') && (mf.landmarks?.length ?? 0) >= 3;
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
  const [x0, y0, x1, y1] = pointBounds(pts);
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
  const spec = parseMaskSpec(opts.mask);
  checkMaskInputs(spec, mf);
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
  const pm = spec.regions.includes('predicted') ? new Float32Array(n) : undefined;
  const m = mf.matrix,
    f = mf.face,
    pmask = mf.predictedMask;
  const tap = newTap();
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
      bilinearTap(u, v, s, s, 'clamp', tap);
      for (let c = 0; c < 3; c++)
        W[i * 3 + c] =
          255 *
          (tap.w00 * f[tap.p00 * 3 + c]! +
            tap.w10 * f[tap.p10 * 3 + c]! +
            tap.w01 * f[tap.p01 * 3 + c]! +
            tap.w11 * f[tap.p11 * 3 + c]!);
      if (pm && pmask)
        pm[i] =
          tap.w00 * pmask[tap.p00]! + tap.w10 * pmask[tap.p10]! + tap.w01 * pmask[tap.p01]! + tap.w11 * pmask[tap.p11]!;
    }
  }

  // 2. Mask: the product of the region masks, the hands cut out.
  const hull = () =>
    fillConvexPolygon(convexHull((mf.landmarks ?? []).map((p) => [p[0] - roi.x, p[1] - roi.y] as Point2)), w, h);
  const regionMask = (kind: MaskSpec['regions'][number]): Float32Array => {
    switch (kind) {
      case 'rect':
        return Float32Array.from(valid);
      case 'facehull':
        return hull();
      case 'facehullandrect': {
        const m = hull();
        for (let i = 0; i < n; i++) m[i] = m[i]! * valid[i]!;
        return m;
      }
      case 'predicted':
        return pm!;
      case 'segment':
      case 'painted':
        return sampleAlignedMask(mf.alignedMasks!, mf.alignedMasks![kind]!, roi);
      default:
        return assertNever(kind);
    }
  };
  let mask = regionMask(spec.regions[0]!);
  for (const kind of spec.regions.slice(1)) {
    const m = regionMask(kind);
    for (let i = 0; i < n; i++) mask[i] = mask[i]! * m[i]!;
  }
  const hands = spec.hands && mf.hands?.length ? handPlane(mf.hands, roi) : undefined;
  if (hands) for (let i = 0; i < n; i++) if (hands[i]) mask[i] = 0;

  // 3. Erosion (positive) or dilation (negative), on the thresholded mask; a soft predicted mask stays soft
  //    when there is nothing to erode.
  const er = erosionRadius(opts.erosion, faceSide);
  if (er !== 0) mask = erodeDilate(mask, w, h, er);

  // 4. Colour statistics over the mask where the new face exists; 5. sharpen.
  const region = new Float32Array(n);
  for (let i = 0; i < n; i++) region[i] = mask[i]! >= 0.5 && valid[i]! > 0 ? 1 : 0;
  matchColor(opts.color, { face: W, orig, region, valid });
  sharpenFace(opts.sharpen, { face: W, w, h, faceSide, amount: opts.sharpenAmount, valid });

  // 6. Feather. The hands stay out hard: the feathered alpha is multiplied by 1 - (the hands, grown by the
  //    feather's reach and feathered outwards), which is 0 on every hand pixel.
  const sigma = featherSigma(opts.blurSize, faceSide);
  const alpha = sigma >= 0.5 ? gaussianBlur(mask, w, h, sigma) : Float32Array.from(mask);
  if (hands) {
    const reach = Math.ceil(2 * sigma);
    const grown = reach > 0 ? erodeDilate(hands, w, h, -reach) : hands;
    const soft = sigma >= 0.5 ? gaussianBlur(grown, w, h, sigma) : grown;
    for (let i = 0; i < n; i++) alpha[i] = hands[i] ? 0 : alpha[i]! * (1 - Math.min(1, soft[i]!));
  }

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

/** Throws when the face lacks what its mask needs (the runner checks these first and gives a user error). */
function checkMaskInputs(spec: MaskSpec, mf: ModelFace): void {
  for (const kind of spec.regions) {
    if (kind === 'predicted' && !mf.predictedMask)
      throw new Error('blendFace: mask "predicted" without a predicted mask');
    if ((kind === 'facehull' || kind === 'facehullandrect') && !(mf.landmarks && mf.landmarks.length >= 3))
      throw new Error(`blendFace: mask "${kind}" needs landmarks`);
    if ((kind === 'segment' || kind === 'painted') && !mf.alignedMasks?.[kind])
      throw new Error(`blendFace: mask "${kind}" without its mask image`);
  }
}

/**
 * An aligned-face mask plane (0..1, side `a.size`) warped back into the ROI, bilinear like the face itself; 0
 * outside the plane.
 */
export function sampleAlignedMask(a: { matrix: Matrix2x3; size: number }, plane: Float32Array, roi: Roi): Float32Array {
  const { w, h } = roi,
    s = a.size,
    m = a.matrix;
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const fy = roi.y + y;
    for (let x = 0; x < w; x++) {
      const fx = roi.x + x;
      const u = m[0][0] * fx + m[0][1] * fy + m[0][2];
      const v = m[1][0] * fx + m[1][1] * fy + m[1][2];
      if (u < -0.5 || v < -0.5 || u > s - 0.5 || v > s - 0.5) continue;
      const uc = Math.min(s - 1, Math.max(0, u)),
        vc = Math.min(s - 1, Math.max(0, v));
      const u0 = Math.min(s - 2, Math.floor(uc)),
        v0 = Math.min(s - 2, Math.floor(vc));
      const au = uc - u0,
        av = vc - v0,
        p = v0 * s + u0;
      out[y * w + x] =
        (1 - au) * (1 - av) * plane[p]! +
        au * (1 - av) * plane[p + 1]! +
        (1 - au) * av * plane[p + s]! +
        au * av * plane[p + s + 1]!;
    }
  }
  return out;
}

/** 1 on the ROI pixels inside any of the hand hulls (frame pixels), else 0. */
export function handPlane(hands: ReadonlyArray<readonly Point2[]>, roi: Roi): Float32Array {
  const out = new Float32Array(roi.w * roi.h);
  for (const hull of hands)
    fillConvexPolygon(convexHull(hull.map((p) => [p[0] - roi.x, p[1] - roi.y] as Point2)), roi.w, roi.h, out);
  return out;
}
