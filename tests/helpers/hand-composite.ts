/**
 * A real hand with its alpha, for the hand-mask known answers (issue 15): cut from a real photo of ../shared/testdata
 * along the traced outline of tests/fixtures/hands/waving-hand.json, and pasted over other images at known
 * positions, scales and angles.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Point2, RgbImage } from '../../src-main/engine/face/types';
import { fillConvexPolygon, pointBounds } from '../../src-main/engine/image/raster';
import { readImageRgb } from '../../src-main/engine/media/images';
import { repoRoot, td } from './testdata';

interface HandFixture {
  image: string;
  polygon: Point2[];
}
const fixture = JSON.parse(
  readFileSync(join(repoRoot, 'tests', 'fixtures', 'hands', 'waving-hand.json'), 'utf8'),
) as HandFixture;

/** Even-odd point-in-polygon test at (x, y). */
function inside(poly: readonly Point2[], x: number, y: number): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const a = poly[i]!,
      b = poly[j]!;
    if (a[1] > y !== b[1] > y && x < ((b[0] - a[0]) * (y - a[1])) / (b[1] - a[1]) + a[0]) c = !c;
  }
  return c;
}

/** The hand cut out of its photo: RGB and a 0/1 alpha from the traced outline, in the outline's bounding box. */
export interface Cutout {
  w: number;
  h: number;
  rgb: Uint8Array;
  alpha: Uint8Array;
}

export async function cutHand(): Promise<Cutout> {
  const photo = await readImageRgb(td(fixture.image));
  const xs = fixture.polygon.map((p) => p[0]),
    ys = fixture.polygon.map((p) => p[1]);
  const x0 = Math.floor(Math.min(...xs)),
    y0 = Math.floor(Math.min(...ys));
  const w = Math.ceil(Math.max(...xs)) - x0 + 1,
    h = Math.ceil(Math.max(...ys)) - y0 + 1;
  const rgb = new Uint8Array(w * h * 3),
    alpha = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = ((y0 + y) * photo.width + x0 + x) * 3;
      rgb.set(photo.data.subarray(s, s + 3), (y * w + x) * 3);
      alpha[y * w + x] = inside(fixture.polygon, x0 + x + 0.5, y0 + y + 0.5) ? 1 : 0;
    }
  return { w, h, rgb, alpha };
}

/**
 * Pastes the cutout into a copy of `base`: scaled by `scale`, turned by `angle` degrees about its centre, its
 * centre at (cx, cy); nearest-neighbour, so the pasted alpha is exactly the returned plane.
 */
export function composite(
  base: RgbImage,
  hand: Cutout,
  at: { cx: number; cy: number; scale: number; angle: number },
): { image: RgbImage; alpha: Uint8Array } {
  const data = Uint8Array.from(base.data);
  const alpha = new Uint8Array(base.width * base.height);
  const c = Math.cos((at.angle * Math.PI) / 180),
    s = Math.sin((at.angle * Math.PI) / 180);
  const r = (Math.hypot(hand.w, hand.h) / 2) * at.scale;
  for (let y = Math.max(0, Math.floor(at.cy - r)); y < Math.min(base.height, Math.ceil(at.cy + r)); y++)
    for (let x = Math.max(0, Math.floor(at.cx - r)); x < Math.min(base.width, Math.ceil(at.cx + r)); x++) {
      const dx = x - at.cx,
        dy = y - at.cy;
      const u = Math.floor((c * dx + s * dy) / at.scale + hand.w / 2),
        v = Math.floor((-s * dx + c * dy) / at.scale + hand.h / 2);
      if (u < 0 || v < 0 || u >= hand.w || v >= hand.h || !hand.alpha[v * hand.w + u]) continue;
      const i = y * base.width + x;
      alpha[i] = 1;
      data.set(hand.rgb.subarray((v * hand.w + u) * 3, (v * hand.w + u) * 3 + 3), i * 3);
    }
  return { image: { width: base.width, height: base.height, data }, alpha };
}

/** Where the hand goes over a face: centre at fractions of its landmark box, height over the box's, angle. */
export interface Placement {
  fx: number;
  fy: number;
  size: number;
  angle: number;
}

/** Pastes the hand over the face whose 68 landmarks are given, at `p` (see `composite`). */
export function placeOverFace(
  base: RgbImage,
  hand: Cutout,
  landmarks: readonly Point2[],
  p: Placement,
): { image: RgbImage; alpha: Uint8Array } {
  const [x0, y0, x1, y1] = pointBounds(landmarks);
  return composite(base, hand, {
    cx: x0 + p.fx * (x1 - x0),
    cy: y0 + p.fy * (y1 - y0),
    scale: (p.size * (y1 - y0)) / hand.h,
    angle: p.angle,
  });
}

/** Pixel counts of a cut (hand polygons) against the pasted hand's alpha, over `region` (the whole frame if absent). */
export interface CutCounts {
  /** Hand pixels. */
  hand: number;
  /** Pixels inside the polygons. */
  cut: number;
  /** Hand pixels inside the polygons. */
  handCut: number;
  /** IoU of the visible pixels (not hand) and the kept ones (not cut). */
  visibleIou: number;
}

export function countCut(
  polygons: readonly Point2[][],
  alpha: Uint8Array,
  width: number,
  height: number,
  region?: Float32Array,
): CutCounts {
  const cutMask = new Float32Array(width * height);
  for (const poly of polygons) fillConvexPolygon(poly, width, height, cutMask);
  const n = { hand: 0, cut: 0, handCut: 0, inter: 0, union: 0 };
  for (let i = 0; i < width * height; i++) {
    if (region && !region[i]) continue;
    const isHand = alpha[i] === 1,
      isCut = cutMask[i]! > 0;
    if (isHand) n.hand++;
    if (isCut) n.cut++;
    if (isHand && isCut) n.handCut++;
    if (!isHand && !isCut) n.inter++;
    if (!isHand || !isCut) n.union++;
  }
  return { hand: n.hand, cut: n.cut, handCut: n.handCut, visibleIou: n.inter / n.union };
}

/** A polygon's pixels (centres inside it, even-odd), 1 inside and 0 outside. */
export function polygonMask(poly: readonly Point2[], width: number, height: number): Float32Array {
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) if (inside(poly, x + 0.5, y + 0.5)) out[y * width + x] = 1;
  return out;
}
