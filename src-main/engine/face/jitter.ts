/**
 * Landmark jitter of a face over time: the mean frame-to-frame movement of the 68 points, divided by the
 * inter-ocular distance (eye centres), over a window of consecutive frames. The "stillest second" is the window of
 * one second whose jitter is lowest, so the number measures noise rather than real head motion.
 */
import { interPupilDistance } from './ibug68';
import type { Matrix2x3, Point2 } from './types';
import { applyMatrix } from './umeyama';

/** Mean normalised frame-to-frame movement over frames [start, start + len) of a track (null = no face). */
export function jitterAt(track: ReadonlyArray<readonly Point2[] | null>, start: number, len: number): number {
  let sum = 0,
    n = 0;
  for (let i = start + 1; i < Math.min(track.length, start + len); i++) {
    const a = track[i - 1],
      b = track[i];
    if (!a || !b) continue;
    const iod = (interPupilDistance(a) + interPupilDistance(b)) / 2;
    let m = 0;
    for (let k = 0; k < 68; k++) m += Math.hypot(b[k]![0] - a[k]![0], b[k]![1] - a[k]![1]);
    sum += m / 68 / iod;
    n++;
  }
  return n > 0 ? sum / n : Number.NaN;
}

/**
 * Residual jitter over frames [start, start + len): as `jitterAt`, but each point's movement is taken from where
 * the face's own motion, as the pixels register it, carries the point's previous position (`motions[i]`: the
 * similarity of the face from frame i - 1 to frame i, `FaceMotionMeter.motion`): the part of the movement that is
 * not the head moving (noise, and expressions: a mouth that opens). Frames without a motion are left out.
 */
export function residualJitterAt(
  track: ReadonlyArray<readonly Point2[] | null>,
  motions: ReadonlyArray<Matrix2x3 | undefined>,
  start: number,
  len: number,
): number {
  let sum = 0,
    n = 0;
  for (let i = start + 1; i < Math.min(track.length, start + len); i++) {
    const a = track[i - 1],
      b = track[i],
      M = motions[i];
    if (!a || !b || !M) continue;
    const iod = (interPupilDistance(a) + interPupilDistance(b)) / 2;
    let m = 0;
    for (let k = 0; k < 68; k++) {
      const p = applyMatrix(M, a[k]!);
      m += Math.hypot(b[k]![0] - p[0], b[k]![1] - p[1]);
    }
    sum += m / 68 / iod;
    n++;
  }
  return n > 0 ? sum / n : Number.NaN;
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
