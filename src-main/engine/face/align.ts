/**
 * Alignment like faceswap's AlignedFace: Umeyama similarity from iBUG points 17-67 to the 0..1 mean face
 * ("legacy" matrix), shifted by the pose-based offset of the chosen centering (faceswap's default for training is
 * 'face': the centre of the face rather than the nose), then scaled into the output square with the centering's
 * padding: out = (legacy - offset) * (size - 2 * pad) + pad, pad = round(size * ratio / 2) at coverage 1.
 */
import { EXTRACT_RATIOS, MEAN_FACE_51, type Centering } from './mean-face';
import { poseAngles, projectPose, solvePose } from './pose';
import type { HeadPose, Matrix2x3, Point2 } from './types';
import { applyMatrix, composeMatrix, matrixRotationDeg, transformPoints, umeyama } from './umeyama';

export interface Alignment {
  /** Source pixels -> aligned crop pixels at `size`. */
  matrix: Matrix2x3;
  /** Source pixels -> legacy 0..1 mean-face space. */
  legacy: Matrix2x3;
  pose: HeadPose;
  size: number;
  centering: Centering;
}

export interface AlignOptions {
  centering?: Centering;
  /** Rotate the crop so that the eye centres are exactly level. */
  alignEyes?: boolean;
}

/** The legacy (nose-centred, 0..1) alignment matrix of 68 landmarks. */
export function legacyMatrix(lm68: readonly Point2[]): Matrix2x3 {
  if (lm68.length !== 68) throw new Error(`expected 68 landmarks, got ${lm68.length}`);
  return umeyama(lm68.slice(17), MEAN_FACE_51);
}

export function paddingFor(size: number, centering: Centering): number {
  return Math.round((size * EXTRACT_RATIOS[centering]) / 2);
}

export function alignFace(lm68: readonly Point2[], size: number, opts: AlignOptions = {}): Alignment {
  const centering = opts.centering ?? 'face';
  const legacy = legacyMatrix(lm68);
  const pnp = solvePose(transformPoints(legacy, lm68));
  let offset: Point2 = [0, 0];
  if (centering !== 'legacy') {
    const pt = centering === 'face' ? ([0, -1.5, 4.2] as const) : ([0, 0, -2.3] as const);
    const c = projectPose(pnp, pt);
    offset = [c[0] - 0.5, c[1] - 0.5];
  }
  const pad = paddingFor(size, centering);
  const k = size - 2 * pad;
  let matrix: Matrix2x3 = [
    [legacy[0][0] * k, legacy[0][1] * k, (legacy[0][2] - offset[0]) * k + pad],
    [legacy[1][0] * k, legacy[1][1] * k, (legacy[1][2] - offset[1]) * k + pad],
  ];
  if (opts.alignEyes) matrix = levelEyes(matrix, lm68, size);
  // Roll of the head on screen: the aligned roll plus the in-plane turn the alignment removed (> 0 = clockwise).
  const pose = poseAngles(pnp);
  pose.roll = Math.round((pose.roll - matrixRotationDeg(legacy)) * 100) / 100;
  return { matrix, legacy, pose, size, centering };
}

function levelEyes(m: Matrix2x3, lm68: readonly Point2[], size: number): Matrix2x3 {
  const mean = (a: number, b: number): Point2 => {
    let x = 0,
      y = 0;
    for (let i = a; i < b; i++) {
      x += lm68[i]![0];
      y += lm68[i]![1];
    }
    return applyMatrix(m, [x / (b - a), y / (b - a)]);
  };
  const r = mean(36, 42),
    l = mean(42, 48);
  const ang = Math.atan2(l[1] - r[1], l[0] - r[0]);
  const c = Math.cos(-ang),
    s = Math.sin(-ang),
    h = (size - 1) / 2;
  const rot: Matrix2x3 = [
    [c, -s, h - (c * h - s * h)],
    [s, c, h - (s * h + c * h)],
  ];
  return composeMatrix(rot, m);
}
