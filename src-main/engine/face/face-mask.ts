/**
 * The face mask a masked trainer learns: the convex hull of the 68 landmarks with the eyebrows raised by half
 * their distance to the eyes, so the forehead above the brows is part of the face (faceswap's "extended" mask).
 * Soft-edged, as a 0..255 plane at the size the trainer caches faces.
 */
import { convexHull, fillConvexPolygon, gaussianBlur } from '../image/raster';
import type { Point2 } from './types';

const mid = (a: Point2, b: Point2): Point2 => [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];

/** The 68 landmarks with the brows (17-26) moved away from the upper eyelids by half their distance. */
export function extendedLandmarks(lm: readonly Point2[]): Point2[] {
  const p = (i: number) => lm[i] as Point2;
  const out = lm.map((q) => [q[0], q[1]] as Point2);
  // Under each brow point, the eye contour point it sits above: the outer points get a point halfway between the
  // eye corner and the face side (faceswap's construction), the others the upper eyelid.
  const qLeft = mid(p(36), mid(p(36), p(0)));
  const qRight = mid(p(45), mid(p(45), p(16)));
  const under: Point2[] = [qLeft, p(36), p(37), p(38), p(39), p(42), p(43), p(44), p(45), qRight];
  for (let k = 0; k < 10; k++) {
    const b = p(17 + k);
    const e = under[k] as Point2;
    out[17 + k] = [b[0] + (b[0] - e[0]) / 2, b[1] + (b[1] - e[1]) / 2];
  }
  return out;
}

/**
 * The mask of an aligned face: the extended hull of `landmarks` (given in pixels of a `fromSize` crop) drawn at
 * `size` x `size`, feathered by a Gaussian of 2% of the side. 0..255.
 */
export function landmarkFaceMask(landmarks: readonly Point2[], fromSize: number, size: number): Uint8Array {
  const s = size / fromSize;
  // Crop pixels have their centres at integers: scale about the centre of pixel 0.
  const pts = extendedLandmarks(landmarks).map((q) => [(q[0] + 0.5) * s - 0.5, (q[1] + 0.5) * s - 0.5] as Point2);
  const plane = gaussianBlur(fillConvexPolygon(convexHull(pts), size, size), size, size, size * 0.02);
  return Uint8Array.from(plane, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
}
