/**
 * Head pose as faceswap estimates it (lib/align/pose.py): solve the perspective-n-point problem between the
 * 26-point 3D mean face and the landmarks in legacy 0..1 space, with a pinhole camera of focal length 4 centred
 * at (0.5, 0.5). OpenCV's iterative solvePnP is a Levenberg-Marquardt fit of the reprojection error; the same is
 * done here over (Rodrigues rotation, translation) with a numerical Jacobian (26 points, 6 unknowns).
 */
import { MEAN_FACE_3D_26, POSE_POINTS } from './mean-face';
import type { HeadPose, Point2 } from './types';

type Vec3 = [number, number, number];
type Mat3 = [Vec3, Vec3, Vec3];

const F = 4;
const C = 0.5;

export function rodrigues(r: readonly number[]): Mat3 {
  const th = Math.hypot(r[0]!, r[1]!, r[2]!);
  if (th < 1e-12)
    return [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
  const kx = r[0]! / th,
    ky = r[1]! / th,
    kz = r[2]! / th;
  const c = Math.cos(th),
    s = Math.sin(th),
    v = 1 - c;
  return [
    [c + kx * kx * v, kx * ky * v - kz * s, kx * kz * v + ky * s],
    [ky * kx * v + kz * s, c + ky * ky * v, ky * kz * v - kx * s],
    [kz * kx * v - ky * s, kz * ky * v + kx * s, c + kz * kz * v],
  ];
}

function project(R: Mat3, t: readonly number[], p: readonly number[]): Point2 {
  const x = R[0][0] * p[0]! + R[0][1] * p[1]! + R[0][2] * p[2]! + t[0]!;
  const y = R[1][0] * p[0]! + R[1][1] * p[1]! + R[1][2] * p[2]! + t[1]!;
  const z = R[2][0] * p[0]! + R[2][1] * p[1]! + R[2][2] * p[2]! + t[2]!;
  return [(F * x) / z + C, (F * y) / z + C];
}

/** Residuals: 26 points x (x, y). */
const NR = 52;

/** The reprojection residuals of `params` (Rodrigues rotation, translation) against `pts` (x, y interleaved). */
function residuals(params: Float64Array, pts: Float64Array, out: Float64Array): void {
  const R = rodrigues([params[0]!, params[1]!, params[2]!]);
  const t0 = params[3]!,
    t1 = params[4]!,
    t2 = params[5]!;
  for (let i = 0; i < 26; i++) {
    const p = MEAN_FACE_3D_26[i]!;
    const x = R[0][0] * p[0] + R[0][1] * p[1] + R[0][2] * p[2] + t0;
    const y = R[1][0] * p[0] + R[1][1] * p[1] + R[1][2] * p[2] + t1;
    const z = R[2][0] * p[0] + R[2][1] * p[1] + R[2][2] * p[2] + t2;
    out[2 * i] = (F * x) / z + C - pts[2 * i]!;
    out[2 * i + 1] = (F * y) / z + C - pts[2 * i + 1]!;
  }
}

function sumSquares(r: Float64Array): number {
  let s = 0;
  for (let i = 0; i < r.length; i++) s = s + r[i]! * r[i]!;
  return s;
}

/**
 * Solves the 6x6 system in `M` (rows of 7: the matrix and the right-hand side; overwritten) by Gauss-Jordan
 * elimination with partial pivoting into `x`; false when it is singular.
 */
function solve6(M: Float64Array, x: Float64Array): boolean {
  const n = 6,
    w = 7;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r * w + c]!) > Math.abs(M[p * w + c]!)) p = r;
    if (Math.abs(M[p * w + c]!) < 1e-15) return false;
    if (p !== c)
      for (let k = 0; k < w; k++) {
        const t = M[c * w + k]!;
        M[c * w + k] = M[p * w + k]!;
        M[p * w + k] = t;
      }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r * w + c]! / M[c * w + c]!;
      for (let k = c; k <= n; k++) M[r * w + k]! -= f * M[c * w + k]!;
    }
  }
  for (let i = 0; i < n; i++) x[i] = M[i * w + n]! / M[i * w + i]!;
  return true;
}

export interface PnpResult {
  rotation: Mat3;
  translation: Vec3;
}

/**
 * Pose of the 3D mean face that best explains `lm68` (landmarks already in legacy 0..1 space). Levenberg-Marquardt
 * over (Rodrigues rotation, translation) with a central-difference Jacobian, in preallocated arrays (one solve per
 * extracted face).
 */
export function solvePose(lmLegacy: readonly Point2[]): PnpResult {
  const pts = new Float64Array(NR);
  POSE_POINTS.forEach((i, k) => {
    pts[2 * k] = lmLegacy[i]![0];
    pts[2 * k + 1] = lmLegacy[i]![1];
  });
  // Start facing the camera: 180 degrees about x (model y up, z to the viewer -> camera y down, z forward).
  let p = Float64Array.of(Math.PI, 0, 0, 0, 0, 50);
  let np = new Float64Array(6);
  const pp = new Float64Array(6),
    d = new Float64Array(6);
  let lambda = 1e-3;
  let r = new Float64Array(NR),
    nr = new Float64Array(NR);
  const rp = new Float64Array(NR),
    rm = new Float64Array(NR);
  const J = new Float64Array(NR * 6),
    JtJ = new Float64Array(36),
    Jtr = new Float64Array(6),
    M = new Float64Array(42);
  residuals(p, pts, r);
  let cost = sumSquares(r);
  for (let it = 0; it < 50; it++) {
    for (let k = 0; k < 6; k++) {
      const h = k < 3 ? 1e-6 : 1e-4;
      pp.set(p);
      pp[k]! += h;
      residuals(pp, pts, rp);
      pp[k] = p[k]! - h;
      residuals(pp, pts, rm);
      for (let i = 0; i < NR; i++) J[i * 6 + k] = (rp[i]! - rm[i]!) / (2 * h);
    }
    for (let a = 0; a < 6; a++) {
      for (let b = 0; b < 6; b++) {
        let s = 0;
        for (let i = 0; i < NR; i++) s = s + J[i * 6 + a]! * J[i * 6 + b]!;
        JtJ[a * 6 + b] = s;
      }
      let s = 0;
      for (let i = 0; i < NR; i++) s = s + J[i * 6 + a]! * r[i]!;
      Jtr[a] = s;
    }
    let improved = false;
    for (let tries = 0; tries < 10 && !improved; tries++) {
      for (let a = 0; a < 6; a++) {
        for (let b = 0; b < 6; b++) {
          const v = JtJ[a * 6 + b]!;
          M[a * 7 + b] = a === b ? v * (1 + lambda) + 1e-12 : v;
        }
        M[a * 7 + 6] = -Jtr[a]!;
      }
      if (!solve6(M, d)) break;
      for (let k = 0; k < 6; k++) np[k] = p[k]! + d[k]!;
      residuals(np, pts, nr);
      const nc = sumSquares(nr);
      if (nc < cost) {
        improved = true;
        const done = cost - nc < 1e-14;
        [p, np] = [np, p];
        [r, nr] = [nr, r];
        cost = nc;
        lambda = Math.max(lambda / 10, 1e-9);
        if (done) it = 1e9;
      } else {
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  return { rotation: rodrigues([p[0]!, p[1]!, p[2]!]), translation: [p[3]!, p[4]!, p[5]!] };
}

/** Projects a point of the 3D mean-face space into legacy 0..1 space. */
export function projectPose(pose: PnpResult, p: readonly [number, number, number]): Point2 {
  return project(pose.rotation, pose.translation, p);
}

/**
 * Pitch, yaw, roll in degrees of the head relative to facing the camera (R = Rz(roll) Ry(yaw) Rx(pitch) in camera
 * axes x right, y down, z forward), in the aligned (upright) face. Signs as measured on the test photos: yaw > 0
 * when the face turns towards the image's right (three-quarter-right photo +51, profile-left -57), pitch > 0 when
 * it looks up (pitch-up photo +15). `alignFace` adds the in-image tilt to roll.
 */
export function poseAngles(pose: PnpResult): HeadPose {
  const R = pose.rotation;
  // The 3D mean face has x towards the image's left and y up, so a face looking at the camera solves to a
  // 180-degree turn about z; remove it: H = R * diag(-1, -1, 1).
  const H = R.map((row) => [-row[0], -row[1], row[2]]) as Mat3;
  const yaw = Math.asin(Math.max(-1, Math.min(1, -H[2][0])));
  const pitch = Math.atan2(H[2][1], H[2][2]);
  const roll = Math.atan2(H[1][0], H[0][0]);
  const deg = (v: number) => Math.round(((v * 180) / Math.PI) * 100) / 100;
  return { pitch: deg(pitch), yaw: deg(yaw), roll: deg(roll) };
}
