/**
 * Bilinear sampling of an interleaved raster (pixel centres at integer coordinates), shared by the face warp
 * (face/image.ts) and conversion's blend (convert/blend.ts). The hot loops stay in their callers: `bilinearTap`
 * fills one reusable `BilinearTap` per pixel and the caller sums its four weighted neighbours per channel (inline:
 * a shared sum function sees both byte and float rasters, and that measured 20-40 % slower).
 */

/**
 * What a tap outside the raster reads:
 * - `clamp`: the nearest edge pixel (the coordinate is clamped to [0, size - 1]); every point has a value.
 * - `zero`: 0 for each of the four neighbours that lies outside; a point with no neighbour inside has none.
 */
export type EdgeMode = 'clamp' | 'zero';

/** The four neighbours of a point (pixel indices, not element indices) and their weights (they sum to 1). */
export interface BilinearTap {
  p00: number;
  p10: number;
  p01: number;
  p11: number;
  w00: number;
  w10: number;
  w01: number;
  w11: number;
}

/** A tap to reuse across calls. */
export function newTap(): BilinearTap {
  return { p00: 0, p10: 0, p01: 0, p11: 0, w00: 0, w10: 0, w01: 0, w11: 0 };
}

/**
 * Fills `tap` for the point (x, y) of a `width` x `height` raster (each at least 2). A neighbour outside the
 * raster in `zero` mode gets weight 0 (and index 0, so reading it stays in bounds). Returns false, leaving `tap`
 * unspecified, only in `zero` mode when all four neighbours are outside.
 */
export function bilinearTap(
  x: number,
  y: number,
  width: number,
  height: number,
  edge: EdgeMode,
  tap: BilinearTap,
): boolean {
  return edge === 'clamp' ? clampTap(x, y, width, height, tap) : zeroTap(x, y, width, height, tap);
}

function clampTap(x: number, y: number, width: number, height: number, tap: BilinearTap): boolean {
  const xc = Math.min(width - 1, Math.max(0, x)),
    yc = Math.min(height - 1, Math.max(0, y));
  const x0 = Math.min(width - 2, Math.floor(xc)),
    y0 = Math.min(height - 2, Math.floor(yc));
  const ax = xc - x0,
    ay = yc - y0;
  const p = y0 * width + x0;
  tap.p00 = p;
  tap.p10 = p + 1;
  tap.p01 = p + width;
  tap.p11 = p + width + 1;
  tap.w00 = (1 - ax) * (1 - ay);
  tap.w10 = ax * (1 - ay);
  tap.w01 = (1 - ax) * ay;
  tap.w11 = ax * ay;
  return true;
}

function zeroTap(x: number, y: number, width: number, height: number, tap: BilinearTap): boolean {
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) return false;
  const ax = x - x0,
    ay = y - y0;
  const p = y0 * width + x0;
  const inX0 = x0 >= 0,
    inX1 = x0 + 1 < width;
  if (y0 >= 0) {
    tap.p00 = inX0 ? p : 0;
    tap.p10 = inX1 ? p + 1 : 0;
    tap.w00 = inX0 ? (1 - ax) * (1 - ay) : 0;
    tap.w10 = inX1 ? ax * (1 - ay) : 0;
  } else {
    tap.p00 = tap.p10 = tap.w00 = tap.w10 = 0;
  }
  if (y0 + 1 < height) {
    tap.p01 = inX0 ? p + width : 0;
    tap.p11 = inX1 ? p + width + 1 : 0;
    tap.w01 = inX0 ? (1 - ax) * ay : 0;
    tap.w11 = inX1 ? ax * ay : 0;
  } else {
    tap.p01 = tap.p11 = tap.w01 = tap.w11 = 0;
  }
  return true;
}
