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

function residuals(params: readonly number[], pts: readonly Point2[]): number[] {
  const R = rodrigues(params.slice(0, 3));
  const t = params.slice(3);
  const out: number[] = [];
  MEAN_FACE_3D_26.forEach((p, i) => {
    const q = project(R, t, p);
    out.push(q[0] - pts[i]![0], q[1] - pts[i]![1]);
  });
  return out;
}

function solve6(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    if (Math.abs(M[p]![c]!) < 1e-15) return null;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

export interface PnpResult {
  rotation: Mat3;
  translation: Vec3;
}

/** Pose of the 3D mean face that best explains `lm68` (landmarks already in legacy 0..1 space). */
export function solvePose(lmLegacy: readonly Point2[]): PnpResult {
  const pts = POSE_POINTS.map((i) => lmLegacy[i]!);
  // Start facing the camera: 180 degrees about x (model y up, z to the viewer -> camera y down, z forward).
  let p = [Math.PI, 0, 0, 0, 0, 50];
  let lambda = 1e-3;
  let r = residuals(p, pts);
  let cost = r.reduce((s, v) => s + v * v, 0);
  for (let it = 0; it < 50; it++) {
    const J: number[][] = r.map(() => new Array(6).fill(0));
    for (let k = 0; k < 6; k++) {
      const h = k < 3 ? 1e-6 : 1e-4;
      const pp = [...p],
        pm = [...p];
      pp[k]! += h;
      pm[k]! -= h;
      const rp = residuals(pp, pts),
        rm = residuals(pm, pts);
      for (let i = 0; i < r.length; i++) J[i]![k] = (rp[i]! - rm[i]!) / (2 * h);
    }
    const JtJ = Array.from({ length: 6 }, (_, a) =>
      Array.from({ length: 6 }, (_, b) => J.reduce((s, row) => s + row[a]! * row[b]!, 0)),
    );
    const Jtr = Array.from({ length: 6 }, (_, a) => J.reduce((s, row, i) => s + row[a]! * r[i]!, 0));
    let improved = false;
    for (let tries = 0; tries < 10 && !improved; tries++) {
      const A = JtJ.map((row, a) => row.map((v, b) => (a === b ? v * (1 + lambda) + 1e-12 : v)));
      const d = solve6(
        A,
        Jtr.map((v) => -v),
      );
      if (!d) break;
      const np = p.map((v, k) => v + d[k]!);
      const nr = residuals(np, pts);
      const nc = nr.reduce((s, v) => s + v * v, 0);
      if (nc < cost) {
        improved = true;
        const done = cost - nc < 1e-14;
        p = np;
        r = nr;
        cost = nc;
        lambda = Math.max(lambda / 10, 1e-9);
        if (done) it = 1e9;
      } else {
        lambda *= 10;
      }
    }
    if (!improved) break;
  }
  return { rotation: rodrigues(p.slice(0, 3)), translation: [p[3]!, p[4]!, p[5]!] };
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
