/**
 * Head pose (yaw, pitch, roll in degrees) from 68-point landmarks by a scaled-orthographic fit of a 6-point 3D
 * mean face (the model commonly used with solvePnP: nose tip, chin, outer eye corners, mouth corners).
 * Orthographic is enough at face distances and needs no camera intrinsics. Angles: yaw positive when the face
 * turns to the image's right, pitch positive looking up, roll positive when the head tilts clockwise in the image.
 */
import type { Point2 } from '../face/types';

/** Model points (x right, y up, z towards the camera), in arbitrary units; indices into the iBUG-68 layout. */
export const POSE_MODEL: ReadonlyArray<readonly [number, readonly [number, number, number]]> = [
  [30, [0, 0, 0]],
  [8, [0, -330, -65]],
  [36, [-225, 170, -135]],
  [45, [225, 170, -135]],
  [48, [-150, -150, -125]],
  [54, [150, -150, -125]],
];

export interface Pose {
  yaw: number;
  pitch: number;
  roll: number;
}

type V3 = [number, number, number];

/** Solves the 3x3 system M x = b (Cramer's rule; M is the small normal matrix of the fit). */
function solve3(m: number[][], b: number[]): V3 {
  const det = (a: number[][]) =>
    a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) -
    a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) +
    a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const d = det(m);
  const col = (k: number) => det(m.map((row, i) => row.map((v, j) => (j === k ? b[i]! : v))));
  return [col(0) / d, col(1) / d, col(2) / d];
}

const norm = (v: V3): V3 => {
  const n = Math.hypot(...v) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
};
const dot = (a: V3, b: V3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V3, b: V3): V3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

export function poseFromLandmarks(lm: readonly Point2[]): Pose {
  const X = POSE_MODEL.map(([, p]) => p);
  // Image y points down; flip it so both frames are right-handed with y up.
  const x = POSE_MODEL.map(([i]) => [(lm[i] as Point2)[0], -(lm[i] as Point2)[1]] as const);
  const n = X.length;
  const mX = [0, 1, 2].map((k) => X.reduce((s, p) => s + p[k]!, 0) / n);
  const mx = [0, 1].map((k) => x.reduce((s, p) => s + p[k]!, 0) / n);
  const Xc = X.map((p) => [p[0] - mX[0]!, p[1] - mX[1]!, p[2] - mX[2]!]);
  const xc = x.map((p) => [p[0] - mx[0]!, p[1] - mx[1]!]);
  // Least squares of the affine camera rows: xc_k = Xc . m_k.
  const XtX = [0, 1, 2].map((a) => [0, 1, 2].map((b) => Xc.reduce((s, p) => s + p[a]! * p[b]!, 0)));
  const rows = [0, 1].map((k) =>
    solve3(
      XtX,
      [0, 1, 2].map((a) => Xc.reduce((s, p, i) => s + p[a]! * xc[i]![k]!, 0)),
    ),
  );
  // Nearest orthonormal rows by polar decomposition, (M M^T)^(-1/2) M: unlike Gram-Schmidt it treats both rows
  // alike, so an in-plane rotation of the image changes only the roll.
  const [m1, m2] = [rows[0]!, rows[1]!];
  const [a, b, c] = [dot(m1, m1), dot(m1, m2), dot(m2, m2)];
  // Inverse square root of the 2x2 SPD matrix [[a, b], [b, c]]: (S + sqrt(det) I)^-1 with S = sqrt of it.
  const sd = Math.sqrt(a * c - b * b);
  const t = Math.sqrt(a + c + 2 * sd);
  const [sa, sb, sc] = [(a + sd) / t, b / t, (c + sd) / t]; // sqrt([[a,b],[b,c]])
  const det = sa * sc - sb * sb;
  const [ia, ib, ic] = [sc / det, -sb / det, sa / det];
  const r1 = norm([ia * m1[0] + ib * m2[0], ia * m1[1] + ib * m2[1], ia * m1[2] + ib * m2[2]]);
  const r2 = norm([ib * m1[0] + ic * m2[0], ib * m1[1] + ic * m2[1], ib * m1[2] + ic * m2[2]]);
  const r3 = cross(r1, r2);
  // R = Rz(roll) Ry(yaw) Rx(pitch) with rows r1, r2, r3.
  const yaw = Math.asin(Math.max(-1, Math.min(1, -r3[0])));
  const pitch = Math.atan2(r3[1], r3[2]);
  const roll = Math.atan2(r2[0], r1[0]);
  const deg = 180 / Math.PI;
  return { yaw: -yaw * deg, pitch: pitch * deg, roll: -roll * deg };
}

/** Projects the pose model rotated by a pose (the inverse of poseFromLandmarks; for tests and overlays). */
export function projectPoseModel(pose: Pose, scale: number, centre: Point2): Map<number, Point2> {
  const r = Math.PI / 180;
  const [y, p, z] = [-pose.yaw * r, pose.pitch * r, -pose.roll * r];
  const Rx = [
    [1, 0, 0],
    [0, Math.cos(p), -Math.sin(p)],
    [0, Math.sin(p), Math.cos(p)],
  ];
  const Ry = [
    [Math.cos(y), 0, Math.sin(y)],
    [0, 1, 0],
    [-Math.sin(y), 0, Math.cos(y)],
  ];
  const Rz = [
    [Math.cos(z), -Math.sin(z), 0],
    [Math.sin(z), Math.cos(z), 0],
    [0, 0, 1],
  ];
  const mul = (a: number[][], b: number[][]) =>
    a.map((row) => [0, 1, 2].map((j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
  const R = mul(Rz, mul(Ry, Rx));
  const out = new Map<number, Point2>();
  for (const [i, P] of POSE_MODEL) {
    const q = R.map((row) => row[0]! * P[0] + row[1]! * P[1] + row[2]! * P[2]);
    out.set(i, [centre[0] + scale * q[0]!, centre[1] - scale * q[1]!]);
  }
  return out;
}
