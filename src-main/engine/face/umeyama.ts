/**
 * Least-squares similarity transform (rotation, uniform scale, translation) between two point sets.
 *
 * S. Umeyama, "Least-squares estimation of transformation parameters between two point patterns",
 * IEEE TPAMI 13(4), 1991, https://doi.org/10.1109/34.88573. In 2D the SVD of the 2x2 covariance has a closed
 * form: with demeaned points p (source) and q (target), a = sum(p.q), b = sum(p x q) and the rotation angle
 * atan2(b, a); scale = sqrt(a^2 + b^2) / sum|p|^2. This is exactly Umeyama's solution with reflections excluded
 * (his S = diag(1, det(U)det(V))), which faceswap calls as `umeyama(src, dst, True)`.
 */
import type { Matrix2x3, Point2 } from './types';

/** The similarity transform that maps `src` onto `dst` in the least-squares sense (points paired by index). */
export function umeyama(src: readonly Point2[], dst: readonly Point2[]): Matrix2x3 {
  const n = Math.min(src.length, dst.length);
  if (n < 2) throw new Error('umeyama needs at least 2 point pairs');
  let msx = 0,
    msy = 0,
    mdx = 0,
    mdy = 0;
  for (let i = 0; i < n; i++) {
    const s = src[i]!,
      d = dst[i]!;
    msx += s[0];
    msy += s[1];
    mdx += d[0];
    mdy += d[1];
  }
  msx /= n;
  msy /= n;
  mdx /= n;
  mdy /= n;
  let a = 0,
    b = 0,
    varSrc = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i]![0] - msx,
      py = src[i]![1] - msy;
    const qx = dst[i]![0] - mdx,
      qy = dst[i]![1] - mdy;
    a += px * qx + py * qy;
    b += px * qy - py * qx;
    varSrc += px * px + py * py;
  }
  if (varSrc === 0) throw new Error('umeyama: source points are all identical');
  const sc = a / varSrc; // scale * cos(theta)
  const ss = b / varSrc; // scale * sin(theta)
  return [
    [sc, -ss, mdx - (sc * msx - ss * msy)],
    [ss, sc, mdy - (ss * msx + sc * msy)],
  ];
}

export function applyMatrix(m: Matrix2x3, p: readonly [number, number] | readonly number[]): Point2 {
  const x = p[0]!,
    y = p[1]!;
  return [m[0][0] * x + m[0][1] * y + m[0][2], m[1][0] * x + m[1][1] * y + m[1][2]];
}

export function transformPoints(m: Matrix2x3, pts: readonly (readonly number[])[]): Point2[] {
  return pts.map((p) => applyMatrix(m, p));
}

export function invertMatrix(m: Matrix2x3): Matrix2x3 {
  const [[a, b, tx], [c, d, ty]] = m;
  const det = a * d - b * c;
  if (det === 0) throw new Error('matrix is not invertible');
  const ia = d / det,
    ib = -b / det,
    ic = -c / det,
    id = a / det;
  return [
    [ia, ib, -(ia * tx + ib * ty)],
    [ic, id, -(ic * tx + id * ty)],
  ];
}

/** `outer` after `inner`: p -> outer(inner(p)). */
export function composeMatrix(outer: Matrix2x3, inner: Matrix2x3): Matrix2x3 {
  const [[a, b, c], [d, e, f]] = outer;
  const [[g, h, i], [j, k, l]] = inner;
  return [
    [a * g + b * j, a * h + b * k, a * i + b * l + c],
    [d * g + e * j, d * h + e * k, d * i + e * l + f],
  ];
}

/** Uniform scale of a similarity matrix (sqrt of |det|). */
export function matrixScale(m: Matrix2x3): number {
  return Math.sqrt(Math.abs(m[0][0] * m[1][1] - m[0][1] * m[1][0]));
}

/** Rotation of a similarity matrix in degrees (counter-clockwise in image coordinates with y down). */
export function matrixRotationDeg(m: Matrix2x3): number {
  return (Math.atan2(m[1][0], m[0][0]) * 180) / Math.PI;
}
