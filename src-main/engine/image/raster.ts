/**
 * Raster primitives (used by face masks, training targets, conversion and evaluation), all on single-channel Float32 planes (0..1) of a face's region of interest (ROI):
 * convex hull of the landmarks, convex polygon fill, erosion/dilation with a square kernel, feathering blur.
 *
 * Why hand-written rather than sharp: measured with sharp 0.35 / libvips 8.18, a 1-channel raw mask comes back
 * as 3 channels, `erode` grows a white-on-black mask (libvips morphology treats black as the foreground) and
 * every call is an async round trip (~3 ms for a 300x300 blur). The passes below are O(pixels) whatever the
 * kernel size (integral image for the morphology, three running box filters for the Gaussian), synchronous,
 * and work on the face's ROI only.
 */
import type { Point2 } from './types';

/** The points' bounding box as [x0, y0, x1, y1] (each point's first two numbers; [Inf, Inf, -Inf, -Inf] for none). */
export function pointBounds(points: readonly (readonly number[])[]): [number, number, number, number] {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const p of points) {
    x0 = Math.min(x0, p[0]!);
    y0 = Math.min(y0, p[1]!);
    x1 = Math.max(x1, p[0]!);
    y1 = Math.max(y1, p[1]!);
  }
  return [x0, y0, x1, y1];
}

/** Convex hull, counter-clockwise, by Andrew's monotone chain (A. M. Andrew, IPL 9(5), 1979). */
export function convexHull(points: readonly Point2[]): Point2[] {
  const pts = points.map((p) => [p[0], p[1]] as Point2).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (pts.length < 3) return pts;
  const cross = (o: Point2, a: Point2, b: Point2) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Point2[] = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Point2[] = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/**
 * Fills a convex polygon (pixel centres at integer coordinates, polygon in ROI coordinates) with 1 into `out`
 * (w x h). Rows are scanned once; each row's span is the min/max of the edge crossings.
 */
export function fillConvexPolygon(
  poly: readonly Point2[],
  w: number,
  h: number,
  out: Float32Array = new Float32Array(w * h),
): Float32Array {
  const n = poly.length;
  if (n < 3) return out;
  let ymin = Infinity,
    ymax = -Infinity;
  for (const p of poly) {
    ymin = Math.min(ymin, p[1]);
    ymax = Math.max(ymax, p[1]);
  }
  const y0 = Math.max(0, Math.ceil(ymin)),
    y1 = Math.min(h - 1, Math.floor(ymax));
  for (let y = y0; y <= y1; y++) {
    let xl = Infinity,
      xr = -Infinity;
    for (let i = 0; i < n; i++) {
      const a = poly[i]!,
        b = poly[(i + 1) % n]!;
      if ((a[1] <= y && b[1] >= y) || (b[1] <= y && a[1] >= y)) {
        if (a[1] === b[1]) {
          xl = Math.min(xl, a[0], b[0]);
          xr = Math.max(xr, a[0], b[0]);
        } else {
          const x = a[0] + ((y - a[1]) * (b[0] - a[0])) / (b[1] - a[1]);
          xl = Math.min(xl, x);
          xr = Math.max(xr, x);
        }
      }
    }
    const xa = Math.max(0, Math.ceil(xl)),
      xb = Math.min(w - 1, Math.floor(xr));
    out.fill(1, y * w + xa, xa <= xb ? y * w + xb + 1 : y * w + xa);
  }
  return out;
}

/**
 * Binary erosion (k > 0) or dilation (k < 0) with a (2|k|+1)^2 square kernel, on the mask thresholded at 0.5.
 * Outside the plane counts as "inside" for erosion (a face cut by the frame edge is not eaten from the edge)
 * and as "outside" for dilation. Integral image: O(w h) for any k. Writes into `into` (w h values) when given, which
 * must not be `mask`; returns `mask` itself when k rounds to 0.
 */
export function erodeDilate(mask: Float32Array, w: number, h: number, k: number, into?: Float32Array): Float32Array {
  const r = Math.round(Math.abs(k));
  if (r === 0) return mask;
  const out = into ?? new Float32Array(w * h);
  const W = w + 1;
  const ii = new Float64Array(W * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += mask[y * w + x]! >= 0.5 ? 1 : 0;
      ii[(y + 1) * W + x + 1] = ii[y * W + x + 1]! + row;
    }
  }
  const erode = k > 0;
  for (let y = 0; y < h; y++) {
    const ya = Math.max(0, y - r),
      yb = Math.min(h, y + r + 1);
    for (let x = 0; x < w; x++) {
      const xa = Math.max(0, x - r),
        xb = Math.min(w, x + r + 1);
      const s = ii[yb * W + xb]! - ii[ya * W + xb]! - ii[yb * W + xa]! + ii[ya * W + xa]!;
      out[y * w + x] = erode ? (s === (yb - ya) * (xb - xa) ? 1 : 0) : s > 0 ? 1 : 0;
    }
  }
  return out;
}

/**
 * Running box filter of radius r along each row, edges clamped; src and dst differ. The sum runs in a double, as
 * the vertical pass's does.
 */
function boxPassRows(src: Float32Array, dst: Float32Array, w: number, h: number, r: number): void {
  const norm = 1 / (2 * r + 1);
  const last = w - 1;
  for (let y = 0, base = 0; y < h; y++, base += w) {
    const first = src[base]!,
      end = src[base + last]!;
    let acc = first * (r + 1);
    for (let i = 1; i <= r; i++) acc += i <= last ? src[base + i]! : end;
    // The sum gains src[i + r + 1] (end past the row) and loses src[i - r] (first before it): the row split where
    // those clamps change, so no pixel tests them.
    const inSub = Math.min(w, r),
      outAdd = Math.max(0, w - r - 1);
    let i = 0;
    for (const stop = Math.min(inSub, outAdd); i < stop; i++) {
      dst[base + i] = acc * norm;
      acc += src[base + i + r + 1]! - first;
    }
    if (inSub <= outAdd)
      for (; i < outAdd; i++) {
        dst[base + i] = acc * norm;
        acc += src[base + i + r + 1]! - src[base + i - r]!;
      }
    else
      for (; i < inSub; i++) {
        dst[base + i] = acc * norm;
        acc += end - first;
      }
    for (; i < w; i++) {
      dst[base + i] = acc * norm;
      acc += end - src[base + i - r]!;
    }
  }
}

/**
 * The same running box filter along each column, computed a row at a time: one running sum per column (`acc`, at
 * least w long), so every read walks a row in memory order instead of striding by w down a column. Each column's
 * sum takes the same values in the same order as a column-by-column pass, so the result is the same to the bit.
 */
function boxPassColumns(
  src: Float32Array,
  dst: Float32Array,
  w: number,
  h: number,
  r: number,
  acc: Float64Array,
): void {
  const norm = 1 / (2 * r + 1);
  const last = h - 1;
  for (let x = 0; x < w; x++) acc[x] = src[x]! * (r + 1);
  for (let i = 1; i <= r; i++) {
    const row = (i <= last ? i : last) * w;
    for (let x = 0; x < w; x++) acc[x] = acc[x]! + src[row + x]!;
  }
  for (let i = 0; i < h; i++) {
    const o = i * w,
      add = (i + r + 1 <= last ? i + r + 1 : last) * w,
      sub = (i - r >= 0 ? i - r : 0) * w;
    for (let x = 0; x < w; x++) {
      const a = acc[x]!;
      dst[o + x] = a * norm;
      acc[x] = a + (src[add + x]! - src[sub + x]!);
    }
  }
}

/** Box blur of radius r (kernel 2r+1), separable, O(pixels). Returns a new plane. */
export function boxBlur(plane: Float32Array, w: number, h: number, r: number): Float32Array {
  const a = Float32Array.from(plane);
  if (r < 1) return a;
  const t = new Float32Array(w * h);
  boxPassRows(a, t, w, h, r);
  boxPassColumns(t, a, w, h, r, new Float64Array(w));
  return a;
}

/** Where gaussianBlur may write: the result plane and a scratch plane (each at least w h long, contents ignored). */
export interface BlurBuffers {
  out: Float32Array;
  tmp: Float32Array;
}

/**
 * Gaussian blur of standard deviation `sigma` approximated by three box filters (W. M. Wells, "Efficient
 * synthesis of Gaussian filters by cascaded uniform filters", IEEE TPAMI 8(2), 1986): the box sizes are chosen
 * so the variance equals sigma^2 (P. Kovesi, "Fast almost-Gaussian filtering", DICTA 2010). Returns a new plane,
 * or `into.out` (its first w h values; `into.tmp` is overwritten) for a caller that reuses its buffers.
 */
export function gaussianBlur(
  plane: Float32Array,
  w: number,
  h: number,
  sigma: number,
  into?: BlurBuffers,
): Float32Array {
  const n = w * h;
  const a = into ? into.out.subarray(0, n) : new Float32Array(n);
  a.set(plane.subarray(0, n));
  if (sigma < 0.5) return a;
  const boxes = 3;
  const wIdeal = Math.sqrt((12 * sigma * sigma) / boxes + 1);
  let wl = Math.floor(wIdeal);
  if (wl % 2 === 0) wl--;
  const wu = wl + 2;
  const m = Math.round((12 * sigma * sigma - boxes * wl * wl - 4 * boxes * wl - 3 * boxes) / (-4 * wl - 4));
  const t = into ? into.tmp.subarray(0, n) : new Float32Array(n);
  const acc = new Float64Array(w);
  for (let i = 0; i < boxes; i++) {
    const r = ((i < m ? wl : wu) - 1) / 2;
    if (r < 1) continue;
    boxPassRows(a, t, w, h, r);
    boxPassColumns(t, a, w, h, r, acc);
  }
  return a;
}

/** Gaussian blur of each channel of an interleaved RGB float image. */
export function blurRgb(rgb: Float32Array, w: number, h: number, sigma: number, box = false): Float32Array {
  const out = new Float32Array(rgb.length);
  const plane = new Float32Array(w * h);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < w * h; i++) plane[i] = rgb[i * 3 + c]!;
    const b = box ? boxBlur(plane, w, h, Math.max(1, Math.round(sigma))) : gaussianBlur(plane, w, h, sigma);
    for (let i = 0; i < w * h; i++) out[i * 3 + c] = b[i]!;
  }
  return out;
}
