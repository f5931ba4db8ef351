/**
 * Landmark jitter of a face over time: the mean frame-to-frame movement of the 68 points, divided by the
 * inter-ocular distance (eye centres), over a window of consecutive frames. The "stillest second" is the window of
 * one second whose jitter is lowest, so the number measures noise rather than real head motion.
 */
import { interPupilDistance } from './ibug68';
import type { Matrix2x3, Point2 } from './types';
import { applyMatrix } from './umeyama';

type Track = ReadonlyArray<readonly Point2[] | null>;

/**
 * The mean over frames [start, start + len) of `move(a, b, i)`: the summed movement of the 68 points from frame
 * i - 1 (`a`) to frame i (`b`), over 68 and the mean inter-ocular distance of the two; frames where either has no
 * face, or `move` gives undefined, are left out. NaN when none is left.
 */
function meanMovement(
  track: Track,
  start: number,
  len: number,
  move: (a: readonly Point2[], b: readonly Point2[], i: number) => number | undefined,
): number {
  let sum = 0,
    n = 0;
  for (let i = start + 1; i < Math.min(track.length, start + len); i++) {
    const a = track[i - 1],
      b = track[i];
    if (!a || !b) continue;
    const m = move(a, b, i);
    if (m === undefined) continue;
    sum += m / 68 / ((interPupilDistance(a) + interPupilDistance(b)) / 2);
    n++;
  }
  return n > 0 ? sum / n : Number.NaN;
}

/** Summed distance from each point of `from` (carried by `M` when given) to the same point of `to`. */
function distances(from: readonly Point2[], to: readonly Point2[], M?: Matrix2x3): number {
  let m = 0;
  for (let k = 0; k < 68; k++) {
    const p = M ? applyMatrix(M, from[k]!) : from[k]!;
    m += Math.hypot(to[k]![0] - p[0], to[k]![1] - p[1]);
  }
  return m;
}

/** Mean normalised frame-to-frame movement over frames [start, start + len) of a track (null = no face). */
export function jitterAt(track: Track, start: number, len: number): number {
  return meanMovement(track, start, len, (a, b) => distances(a, b));
}

/**
 * Residual jitter over frames [start, start + len): as `jitterAt`, but each point's movement is taken from where
 * the face's own motion, as the pixels register it, carries the point's previous position (`motions[i]`: the
 * similarity of the face from frame i - 1 to frame i, `FaceMotionMeter.motion`): the part of the movement that is
 * not the head moving (noise, and expressions: a mouth that opens). Frames without a motion are left out.
 */
export function residualJitterAt(
  track: Track,
  motions: ReadonlyArray<Matrix2x3 | undefined>,
  start: number,
  len: number,
): number {
  return meanMovement(track, start, len, (a, b, i) => (motions[i] ? distances(a, b, motions[i]) : undefined));
}

/**
 * The head's own motion over frames [start, start + len): the mean movement the image-registered motion of the face
 * (`motions[i]`) gives the points of frame i - 1, normalised as `jitterAt`. Frames without a motion are left out.
 */
export function headMotionAt(
  track: Track,
  motions: ReadonlyArray<Matrix2x3 | undefined>,
  start: number,
  len: number,
): number {
  return meanMovement(track, start, len, (a, _b, i) => {
    const M = motions[i];
    return M
      ? distances(
          a,
          a.map((p) => applyMatrix(M, p)),
        )
      : undefined;
  });
}

/** Start of the one-second window (of `fps` frames, all with a face) with the lowest jitter. */
export function stillestWindow(
  track: ReadonlyArray<readonly Point2[] | null>,
  fps: number,
): { start: number; len: number; jitter: number } | null {
  const len = Math.max(2, Math.round(fps));
  let best: { start: number; len: number; jitter: number } | null = null;
  for (let s = 0; s + len <= track.length; s++) {
    let full = true;
    for (let i = s; i < s + len; i++)
      if (!track[i]) {
        full = false;
        break;
      }
    if (!full) continue;
    const j = jitterAt(track, s, len);
    if (!best || j < best.jitter) best = { start: s, len, jitter: j };
  }
  return best;
}

/**
 * Delay of a smoothed landmark track behind the raw one on motion, in frames (fractional): the shift d in
 * [0, maxLag] (steps of 0.05 frame) that best lines the smoothed face centre at frame t up with the raw centre at
 * t - d (linearly interpolated), over the frames where the raw face moves faster than `minSpeed` inter-ocular
 * distances per frame (head turns; still frames say nothing about lag). NaN when no frame moves that fast.
 */
export function landmarkLag(
  raw: ReadonlyArray<readonly Point2[] | null>,
  smoothed: ReadonlyArray<readonly Point2[] | null>,
  minSpeed = 0.01,
  maxLag = 4,
): number {
  const centre = (lm: readonly Point2[] | null): Point2 | null => {
    if (!lm) return null;
    let x = 0,
      y = 0;
    for (const p of lm) {
      x += p[0] / lm.length;
      y += p[1] / lm.length;
    }
    return [x, y];
  };
  const R = raw.map(centre),
    S = smoothed.map(centre);
  const moving: Array<{ t: number; iod: number }> = [];
  for (let t = 1; t + 1 < R.length; t++) {
    const a = R[t - 1],
      b = R[t + 1];
    if (!a || !b || !S[t]) continue;
    const iod = interPupilDistance(raw[t]!);
    if (Math.hypot(b[0] - a[0], b[1] - a[1]) / 2 / iod > minSpeed) moving.push({ t, iod });
  }
  if (moving.length === 0) return Number.NaN;
  let best = 0,
    bestErr = Infinity;
  for (let k = 0; k <= Math.round(maxLag * 20); k++) {
    const d = k / 20;
    let err = 0,
      n = 0;
    for (const { t, iod } of moving) {
      const i = Math.floor(t - d),
        f = t - d - i;
      const a = R[i],
        b = R[i + 1];
      if (i < 0 || !a || !b) continue;
      const s = S[t]!;
      err += Math.hypot(s[0] - (a[0] * (1 - f) + b[0] * f), s[1] - (a[1] * (1 - f) + b[1] * f)) / iod;
      n++;
    }
    if (n > 0 && err / n < bestErr) {
      bestErr = err / n;
      best = k;
    }
  }
  return best / 20;
}
