/**
 * Landmark jitter of a face over time: the mean frame-to-frame movement of the 68 points, divided by the
 * inter-ocular distance (eye centres), over a window of consecutive frames. The "stillest second" is the window of
 * one second whose jitter is lowest, so the number measures noise rather than real head motion.
 */
import { interPupilDistance } from './ibug68';
import type { Point2 } from './types';

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
