/**
 * 68-point iBUG / 300-W layout from the 468-point MediaPipe face mesh that @vladmandic/human runs.
 *
 * Each iBUG point is anchored on one mesh vertex (the usual MediaPipe-to-dlib table) and refined by a
 * small fitted regression over that vertex's neighbours (see docs/alignments.md). Points are in
 * iBUG order, 0-based: jaw 0-16 (from the subject's right ear, image left, round the chin), right brow 17-21,
 * left brow 22-26, nose bridge 27-30, nostrils 31-35, right eye 36-41, left eye 42-47, outer lips 48-59,
 * inner lips 60-67. "Right" is the subject's right, on the image's left for a frontal face.
 */
import weights from './ibug68-weights.json' with { type: 'json' };
import type { Point2 } from './types';

/**
 * Regression weights: iBUG point i = sum of w * mesh[j] over its row (weights sum to 1, so the mapping commutes
 * with any similarity transform), kept in ibug68-weights.json. Each row is the point's anchor vertex (the first
 * pair: the widely used MediaPipe -> dlib-68 correspondence) plus its 5 nearest mesh neighbours; the weights
 * were fitted by ridge least squares (lambda 0.001 towards the anchor vertex alone, error normalised by the
 * outer-eye distance) on dlib_pascal's 4 "training" images (17 faces found of 18) by `scripts/fit-ibug68.ts`, and
 * tested on the held-out 5 "testing" images (25 faces) and the 2 human-annotated 300-W faces: NME 0.0404 / 0.0527
 * (0.0385 / 0.0494 with the mirrored pass averaged in, `DetectOptions.mirror`); single vertices 0.0535 / 0.0584.
 * Each row sums to exactly 1 (the anchor weight takes the rounding).
 * Regenerate them with that script if the mesh model changes.
 */
export const IBUG68_WEIGHTS = weights as unknown as ReadonlyArray<ReadonlyArray<readonly [number, number]>>;

/** The 68 iBUG points of a 468 (or 478) point mesh, in the mesh's coordinates. */
export function meshToIbug68(mesh: ReadonlyArray<readonly number[]>): Point2[] {
  return IBUG68_WEIGHTS.map((row) => {
    let x = 0,
      y = 0;
    for (const [j, w] of row) {
      x += w * mesh[j]![0]!;
      y += w * mesh[j]![1]!;
    }
    return [x, y] as Point2;
  });
}

/** Outer eye corners |p36 - p45|: the 300-W normalisation distance. */
function outerEyeDistance(lm: readonly Point2[]): number {
  const a = lm[36]!,
    b = lm[45]!;
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Distance between the eye centres (means of points 36-41 and 42-47). */
export function interPupilDistance(lm: readonly Point2[]): number {
  let rx = 0,
    ry = 0,
    lx = 0,
    ly = 0;
  for (let i = 36; i < 42; i++) {
    rx += lm[i]![0];
    ry += lm[i]![1];
  }
  for (let i = 42; i < 48; i++) {
    lx += lm[i]![0];
    ly += lm[i]![1];
  }
  return Math.hypot((rx - lx) / 6, (ry - ly) / 6);
}

/**
 * iBUG index of each point's mirror image (left-right flip of the face): jaw i <-> 16 - i, brows, eyes, nostrils
 * and lips swap sides, the points on the centre line map to themselves.
 */
export const IBUG68_MIRROR: ReadonlyArray<number> = [
  ...Array.from({ length: 17 }, (_, i) => 16 - i),
  ...[26, 25, 24, 23, 22, 21, 20, 19, 18, 17],
  ...[27, 28, 29, 30, 35, 34, 33, 32, 31],
  ...[45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40],
  ...[54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55],
  ...[64, 63, 62, 61, 60, 67, 66, 65],
];

/**
 * The 68 points of a mesh predicted on a mirrored crop (its points already mapped back to source pixels): the
 * mesh's labels are mirrored (its "right eye" is the subject's left), so the iBUG points swap by `IBUG68_MIRROR`.
 */
export function mirroredIbug68(mesh: ReadonlyArray<readonly number[]>): Point2[] {
  const lm = meshToIbug68(mesh);
  return IBUG68_MIRROR.map((j) => lm[j]!);
}

/**
 * Confidence of each point from two independent estimates (direct and mirrored pass): 1 where they agree,
 * falling as exp(-d / (0.05 * outer-eye distance)), so a disagreement of 5% of the eye distance (about the mean
 * landmark error) gives 0.37.
 */
export function pointConfidence(a: readonly Point2[], b: readonly Point2[]): number[] {
  const s = 0.05 * Math.max(1e-6, (outerEyeDistance(a) + outerEyeDistance(b)) / 2);
  return a.map((p, i) => Math.round(Math.exp(-Math.hypot(p[0] - b[i]![0], p[1] - b[i]![1]) / s) * 1000) / 1000);
}
