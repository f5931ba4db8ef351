/** Geometry and raster types shared by every engine layer above `image` (face, extract, train, convert, evaluate). */

/** A 2D point in pixels: [x, y]. */
export type Point2 = [number, number];

/** A 2x3 affine matrix [[a, b, tx], [c, d, ty]] mapping (x, y) to (a x + b y + tx, c x + d y + ty). */
export type Matrix2x3 = [[number, number, number], [number, number, number]];

/** A packed 8-bit RGB image (RGB24, row-major, no row padding), as decoded frames are. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}
