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

/** Copies a ROI of an RGB24 frame (into `out`'s first w h 3 bytes when given). */
export function cropRgb(frame: RgbImage, roi: Roi, out?: Uint8Array): Uint8Array {
  const n = roi.w * roi.h * 3;
  const o = out ? out.subarray(0, n) : new Uint8Array(n);
  for (let y = 0; y < roi.h; y++) {
    const s = ((roi.y + y) * frame.width + roi.x) * 3;
    o.set(frame.data.subarray(s, s + roi.w * 3), y * roi.w * 3);
  }
  return o;
}

/** The planes blendFace works in, by name. */
type PlaneName = 'face' | 'valid' | 'predicted' | 'mask' | 'other' | 'eroded' | 'region' | 'alpha' | 'tmp' | 'domain';

/**
 * Reusable working planes for blendFace, one set per thread that blends frame after frame: each plane grows to the
 * largest ROI asked for and is then reused, instead of a dozen new ROI-sized arrays per face and frame (garbage
 * the collector spent ~20 ms per 720p frame on). What a blendFace given a scratch returns (its `alpha`, `mask`,
 * `valid`) are views into these planes, valid until the scratch's next blendFace.
 */
export class BlendScratch {
  private readonly planes = new Map<PlaneName, Float32Array>();
  private bytes = new Uint8Array(0);

  /** Plane `name` with at least `n` values (contents left from earlier use). */
  plane(name: PlaneName, n: number): Float32Array {
    let p = this.planes.get(name);
    if (!p || p.length < n) {
      p = new Float32Array(grow(p?.length ?? 0, n));
      this.planes.set(name, p);
    }
    return p.subarray(0, n);
  }

  /** Plane `name`, first `n` values set to 0. */
  zeros(name: PlaneName, n: number): Float32Array {
    const p = this.plane(name, n);
    p.fill(0);
    return p;
  }

  /** Byte buffer with at least `n` bytes (for the ROI's original pixels). */
  u8(n: number): Uint8Array {
    if (this.bytes.length < n) this.bytes = new Uint8Array(grow(this.bytes.length, n));
    return this.bytes.subarray(0, n);
  }
}

/** A buffer size for n values: n, or 1.25 times the old size when that is more (fewer regrowths as faces grow). */
function grow(old: number, n: number): number {
  return Math.max(n, Math.ceil(old * 1.25));
}

/**
 * Blends one model face into `frame` (RGB24, modified in place). Returns what it did (ROI and masks), or null
 * when the face lies outside the frame. With `scratch`, the working planes come from it (and the result's planes
 * are its views, see BlendScratch); without, they are new arrays the result owns.
 */
export function blendFace(
  frame: RgbImage,
  mf: ModelFace,
  opts: BlendOptions,
  scratch: BlendScratch = new BlendScratch(),
): BlendResult | null {
  const spec = parseMaskSpec(opts.mask);
  checkMaskInputs(spec, mf);
  const roi = faceRoi(mf, frame.width, frame.height, opts);
  if (!roi) return null;
  const { w, h } = roi,
    n = w * h,
    s = mf.size;
  const faceSide = s / matrixScale(mf.matrix);
  const orig = cropRgb(frame, roi, scratch.u8(n * 3));

  // 1. New face into the ROI, the original where the model square does not reach. 2. Mask: the product of the
  //    region masks, the hands cut out. (Each hot loop sits in its own function: variables a closure captures
  //    live in a context object, and a loop reading them there measured several times slower.)
  const W = scratch.plane('face', n * 3);
  const valid = scratch.plane('valid', n);
  const pm = spec.regions.includes('predicted') ? scratch.plane('predicted', n) : undefined;
  warpFace(mf, roi, orig, W, valid, pm);
  let mask = regionPlane(spec.regions[0]!, 'mask', mf, roi, valid, pm, scratch);
  for (const kind of spec.regions.slice(1)) multiplyInto(mask, regionPlane(kind, 'other', mf, roi, valid, pm, scratch));
  const hands = spec.hands && mf.hands?.length ? handPlane(mf.hands, roi) : undefined;
  if (hands) for (let i = 0; i < n; i++) if (hands[i]) mask[i] = 0;

  // 3. Erosion (positive) or dilation (negative), on the thresholded mask; a soft predicted mask stays soft
  //    when there is nothing to erode.
  const er = erosionRadius(opts.erosion, faceSide);
  if (er !== 0) mask = erodeDilate(mask, w, h, er, scratch.plane('eroded', n));

  // 4. Colour statistics over the mask where the new face exists; 5. sharpen.
  const region = scratch.plane('region', n);
  for (let i = 0; i < n; i++) region[i] = mask[i]! >= 0.5 && valid[i]! > 0 ? 1 : 0;
  matchColor(opts.color, { face: W, orig, region, valid });
  sharpenFace(opts.sharpen, { face: W, w, h, faceSide, amount: opts.sharpenAmount, valid });

  // 6. Feather. The hands stay out hard: the feathered alpha is multiplied by 1 - (the hands, grown by the
  //    feather's reach and feathered outwards), which is 0 on every hand pixel.
  const sigma = featherSigma(opts.blurSize, faceSide);
  const alpha = gaussianBlur(mask, w, h, sigma, { out: scratch.plane('alpha', n), tmp: scratch.plane('tmp', n) });
  if (hands) {
    const reach = Math.ceil(2 * sigma);
    const grown = reach > 0 ? erodeDilate(hands, w, h, -reach) : hands;
    const soft = sigma >= 0.5 ? gaussianBlur(grown, w, h, sigma) : grown;
    for (let i = 0; i < n; i++) alpha[i] = hands[i] ? 0 : alpha[i]! * (1 - Math.min(1, soft[i]!));
  }

  // 7. Gradient-domain clone over everything that will be blended.
  if (opts.seamless) {
    const domain = scratch.plane('domain', n);
    for (let i = 0; i < n; i++) domain[i] = alpha[i]! > 1 / 512 ? 1 : 0;
    seamlessClone({ face: W, orig, domain, w, h });
  }

  // 8. Composite.
  compositeFace(frame, roi, orig, W, alpha);
  return { roi, alpha, mask, valid, faceSide };
}

/**
 * The model's face warped into the ROI (bilinear, edges clamped: image/bilinear.ts's clamp tap inlined, with the
 * same arithmetic), into W (RGB 0..255); where the model square does not reach, W is the original pixel and
 * `valid` 0 (else 1). `pm` gets the predicted mask the same way (0 outside).
 */
function warpFace(
  mf: ModelFace,
  roi: Roi,
  orig: Uint8Array,
  W: Float32Array,
  valid: Float32Array,
  pm: Float32Array | undefined,
): void {
  const { x: rx, y: ry, w, h } = roi,
    s = mf.size,
    f = mf.face,
    pmask = mf.predictedMask;
  const [[m00, m01, m02], [m10, m11, m12]] = mf.matrix;
  const hi = s - 0.5,
    s1 = s - 1,
    s2 = s - 2,
    row = 3 * s;
  for (let y = 0, i = 0; y < h; y++) {
    const fy = ry + y;
    for (let x = 0; x < w; x++, i++) {
      const fx = rx + x,
        j = i * 3;
      const u = m00 * fx + m01 * fy + m02;
      const v = m10 * fx + m11 * fy + m12;
      if (u < -0.5 || v < -0.5 || u > hi || v > hi) {
        valid[i] = 0;
        W[j] = orig[j]!;
        W[j + 1] = orig[j + 1]!;
        W[j + 2] = orig[j + 2]!;
        if (pm) pm[i] = 0;
        continue;
      }
      valid[i] = 1;
      // Math.min / max / floor written out (the same values: uc, vc lie in [0, s - 1], where | 0 is floor).
      const uc = u <= 0 ? 0 : u >= s1 ? s1 : u,
        vc = v <= 0 ? 0 : v >= s1 ? s1 : v;
      const u0 = Math.min(s2, uc | 0),
        v0 = Math.min(s2, vc | 0);
      const ax = uc - u0,
        ay = vc - v0;
      const p = v0 * s + u0,
        q = p * 3;
      const w00 = (1 - ax) * (1 - ay),
        w10 = ax * (1 - ay),
        w01 = (1 - ax) * ay,
        w11 = ax * ay;
      W[j] = 255 * (w00 * f[q]! + w10 * f[q + 3]! + w01 * f[q + row]! + w11 * f[q + row + 3]!);
      W[j + 1] = 255 * (w00 * f[q + 1]! + w10 * f[q + 4]! + w01 * f[q + row + 1]! + w11 * f[q + row + 4]!);
      W[j + 2] = 255 * (w00 * f[q + 2]! + w10 * f[q + 5]! + w01 * f[q + row + 2]! + w11 * f[q + row + 5]!);
      if (pm && pmask) pm[i] = w00 * pmask[p]! + w10 * pmask[p + 1]! + w01 * pmask[p + s]! + w11 * pmask[p + s + 1]!;
    }
  }
}

/** One region's mask plane in the ROI: drawn into scratch plane `into`, or the predicted plane itself. */
function regionPlane(
  kind: MaskSpec['regions'][number],
  into: PlaneName,
  mf: ModelFace,
  roi: Roi,
  valid: Float32Array,
  pm: Float32Array | undefined,
  scratch: BlendScratch,
): Float32Array {
  const n = roi.w * roi.h;
  switch (kind) {
    case 'rect': {
      const m = scratch.plane(into, n);
      m.set(valid);
      return m;
    }
    case 'facehull':
      return hullPlane(mf.landmarks ?? [], roi, scratch.zeros(into, n));
    case 'facehullandrect':
      return multiplyInto(hullPlane(mf.landmarks ?? [], roi, scratch.zeros(into, n)), valid);
    case 'predicted':
      return pm!;
    case 'segment':
    case 'painted':
      return sampleAlignedMask(mf.alignedMasks!, mf.alignedMasks![kind]!, roi, scratch.plane(into, n));
    default:
      return assertNever(kind);
  }
}

/** a *= b, value by value; returns a. */
function multiplyInto(a: Float32Array, b: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! * b[i]!;
  return a;
}

/** Alpha-composites W over the ROI's original pixels into the frame, where alpha exceeds 1/512. */
function compositeFace(frame: RgbImage, roi: Roi, orig: Uint8Array, W: Float32Array, alpha: Float32Array): void {
  const out = frame.data,
    { w, h } = roi;
  for (let y = 0, i = 0; y < h; y++) {
    let o = ((roi.y + y) * frame.width + roi.x) * 3;
    for (let x = 0; x < w; x++, i++, o += 3) {
      const a = alpha[i]!;
      if (a <= 1 / 512) continue;
      const j = i * 3;
      const F0 = orig[j]!,
        F1 = orig[j + 1]!,
        F2 = orig[j + 2]!;
      out[o] = toByte(F0 + a * (W[j]! - F0));
      out[o + 1] = toByte(F1 + a * (W[j + 1]! - F1));
      out[o + 2] = toByte(F2 + a * (W[j + 2]! - F2));
    }
  }
}

/**
 * v rounded to the nearest byte value (0..255), halves up: Math.round's value, by floor(v + 0.5), which V8 runs
 * about 3 times faster. The two agree from 0.5 up (v + 0.5 is then exact, or rounds within the same integer);
 * below 0.5 (where v + 0.5 may round up to 1) the answer is 0 either way.
 */
function toByte(v: number): number {
  return v < 0.5 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
}

/** The convex hull of the landmarks (frame pixels) filled with 1 into `out` (the ROI's plane, zeroed). */
function hullPlane(landmarks: readonly Point2[], roi: Roi, out: Float32Array): Float32Array {
  return fillConvexPolygon(convexHull(landmarks.map((p) => [p[0] - roi.x, p[1] - roi.y] as Point2)), roi.w, roi.h, out);
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
export function sampleAlignedMask(
  a: { matrix: Matrix2x3; size: number },
  plane: Float32Array,
  roi: Roi,
  out: Float32Array = new Float32Array(roi.w * roi.h),
): Float32Array {
  const { w, h } = roi,
    s = a.size,
    m = a.matrix;
  for (let y = 0; y < h; y++) {
    const fy = roi.y + y;
    for (let x = 0; x < w; x++) {
      const fx = roi.x + x;
      const u = m[0][0] * fx + m[0][1] * fy + m[0][2];
      const v = m[1][0] * fx + m[1][1] * fy + m[1][2];
      if (u < -0.5 || v < -0.5 || u > s - 0.5 || v > s - 0.5) {
        out[y * w + x] = 0;
        continue;
      }
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
