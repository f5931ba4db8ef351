/**
 * Motion-gated landmark smoothing for video: the One Euro filter of the track (one-euro.ts, applied in
 * extract/tracker.ts `smoothStep`), opened by the face's motion as measured in the image rather than by the
 * landmarks' own speed. This file measures that motion (`FaceMotionMeter`, where the frames are) and holds the gate.
 *
 * Why: the One Euro filter raises its cutoff with the speed of the values it filters, and the speed of the mesh's
 * landmarks on a still face is mostly their frame-to-frame noise (about 0.4% of the eye distance per frame, 0.1
 * eye distances per second), so its cutoff never gets down to its rest value; lowering its speed response instead
 * makes it trail head turns. The image says how the face moved between two frames far more precisely: the
 * similarity transform (scale, rotation, shift) of the upper face (brows, eyes and nose, iBUG 17-47, the parts
 * that move with the skull) from the previous frame to this one, found by inverse-compositional Lucas-Kanade on the
 * grey image (S. Baker, I. Matthews, "Lucas-Kanade 20 Years On: A Unifying Framework", IJCV 56(3), 2004,
 * https://doi.org/10.1023/B:VISI.0000011205.11775.fd), started from the similarity between the two frames' raw
 * landmarks so that fast turns converge. Its speed (mean movement of the 68 points, eye distances per second) opens
 * the filter on every point at once (`betaImage`); the landmarks' own speed still opens it, but only the part above
 * the noise (`deadZone`), so a mouth that opens or eyes that blink are followed while noise is not. Where the
 * image fit fails or disagrees with the landmarks (occlusion, a hand over the face), the landmarks' similarity
 * gives the speed instead: noisier, so the filter is more open there, never more closed.
 */
import { interPupilDistance } from './ibug68';
import type { OneEuroParams } from './one-euro';
import { ImagePyramid, type LazyRgbImage } from './image';
import type { Matrix2x3, Point2, RgbImage } from './types';
import { applyMatrix, composeMatrix, invertMatrix, umeyama } from './umeyama';

/** iBUG points whose region gives the rigid motion: brows, nose, eyes. */
const RIGID_FROM = 17,
  RIGID_TO = 48;
/** Most template samples per fit (larger faces are sampled on a coarser grid). */
const MAX_SAMPLES = 6000;
const MAX_ITERS = 30;
/** Converged when an update moves the region by less than this (pixels). */
const CONVERGED_PX = 0.002;

/**
 * A grey window [x0, x0 + w) x [y0, y0 + h) of a frame, blurred by a binomial kernel of sigma 1 px (clamped to the
 * frame): smooth enough that its bilinear interpolation and its central differences agree, so the Gauss-Newton
 * steps below converge in a few iterations rather than creeping.
 */
interface GreyPatch {
  x0: number;
  y0: number;
  w: number;
  h: number;
  data: Float64Array;
}

/** Binomial blur kernel (sigma 1 px); `greyPatch` sums its five taps unrolled. */
const BLUR = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

function greyPatch(img: RgbImage | LazyRgbImage, x0: number, y0: number, x1: number, y1: number): GreyPatch {
  x0 = Math.max(0, Math.floor(x0));
  y0 = Math.max(0, Math.floor(y0));
  x1 = Math.min(img.width - 1, Math.ceil(x1));
  y1 = Math.min(img.height - 1, Math.ceil(y1));
  const w = Math.max(1, x1 - x0 + 1),
    h = Math.max(1, y1 - y0 + 1);
  const R = 2; // BLUR's half-width
  // A pyramid level is built where it is read (the window and its blur margin).
  if ('ensure' in img) {
    const cx = (v: number) => Math.min(img.width - 1, Math.max(0, v)),
      cy = (v: number) => Math.min(img.height - 1, Math.max(0, v));
    img.ensure(cx(x0 - R), cy(y0 - R), cx(x0 + w - 1 + R), cy(y0 + h - 1 + R));
  }
  const W = img.width,
    H = img.height,
    d = img.data;
  // The kernel's taps as constants, summed in the kernel's order (the same values as a loop over BLUR).
  const [b0, b1, b2, b3, b4] = BLUR as [number, number, number, number, number];
  const rows = new Float64Array(w * (h + 2 * R));
  const line = new Float64Array(w + 2 * R);
  for (let yy = -R; yy < h + R; yy++) {
    const row = Math.min(H - 1, Math.max(0, y0 + yy)) * W;
    for (let xx = -R; xx < w + R; xx++) {
      const j = 3 * (row + Math.min(W - 1, Math.max(0, x0 + xx)));
      line[xx + R] = 0.299 * d[j]! + 0.587 * d[j + 1]! + 0.114 * d[j + 2]!;
    }
    const o = (yy + R) * w;
    for (let xx = 0; xx < w; xx++)
      rows[o + xx] = b0 * line[xx]! + b1 * line[xx + 1]! + b2 * line[xx + 2]! + b3 * line[xx + 3]! + b4 * line[xx + 4]!;
  }
  const data = new Float64Array(w * h);
  for (let yy = 0; yy < h; yy++)
    for (let xx = 0, i = yy * w; xx < w; xx++, i++)
      data[i] =
        b0 * rows[i]! + b1 * rows[i + w]! + b2 * rows[i + 2 * w]! + b3 * rows[i + 3 * w]! + b4 * rows[i + 4 * w]!;
  return { x0, y0, w, h, data };
}

/** Bilinear sample of a patch at frame coordinates (clamped to the patch). */
function samplePatch(p: GreyPatch, x: number, y: number): number {
  x -= p.x0;
  y -= p.y0;
  if (x < 0) x = 0;
  else if (x > p.w - 1.001) x = Math.max(0, p.w - 1.001);
  if (y < 0) y = 0;
  else if (y > p.h - 1.001) y = Math.max(0, p.h - 1.001);
  const xi = Math.floor(x),
    yi = Math.floor(y);
  const fx = x - xi,
    fy = y - yi;
  const i = yi * p.w + xi,
    d = p.data;
  const x1 = xi + 1 < p.w ? 1 : 0,
    y1 = yi + 1 < p.h ? p.w : 0;
  return (d[i]! * (1 - fx) + d[i + x1]! * fx) * (1 - fy) + (d[i + y1]! * (1 - fx) + d[i + y1 + x1]! * fx) * fy;
}

/**
 * The upper face of one frame, kept for the next frame's motion fit: sample positions, grey values and the
 * steepest-descent images of the similarity warp (template gradient times the warp Jacobian at identity). A copy:
 * the frame itself is not kept.
 */
export interface FaceTemplate {
  cx: number;
  cy: number;
  radius: number;
  /** The region [x0, y0, x1, y1] in its frame. */
  box: [number, number, number, number];
  xs: Float64Array;
  ys: Float64Array;
  values: Float64Array;
  sd: Float64Array;
  hessianInv: Float64Array;
}

export function faceTemplate(img: RgbImage, pts: readonly Point2[]): FaceTemplate | null {
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (let k = RIGID_FROM; k < RIGID_TO; k++) {
    const p = pts[k]!;
    x0 = Math.min(x0, p[0]);
    y0 = Math.min(y0, p[1]);
    x1 = Math.max(x1, p[0]);
    y1 = Math.max(y1, p[1]);
  }
  const pad = 0.05 * (x1 - x0);
  x0 = Math.max(1, Math.floor(x0 - pad));
  y0 = Math.max(1, Math.floor(y0 - pad));
  x1 = Math.min(img.width - 2, Math.ceil(x1 + pad));
  y1 = Math.min(img.height - 2, Math.ceil(y1 + pad));
  if (!(x1 - x0 >= 8 && y1 - y0 >= 8)) return null;
  const step = Math.max(1, Math.ceil(Math.sqrt(((x1 - x0 + 1) * (y1 - y0 + 1)) / MAX_SAMPLES)));
  const cx = (x0 + x1) / 2,
    cy = (y0 + y1) / 2;
  const nx = Math.floor((x1 - x0) / step) + 1,
    ny = Math.floor((y1 - y0) / step) + 1;
  const n = nx * ny;
  const xs = new Float64Array(n),
    ys = new Float64Array(n),
    values = new Float64Array(n),
    sd = new Float64Array(4 * n);
  const H = new Float64Array(16);
  const g = greyPatch(img, x0 - 1, y0 - 1, x1 + 1, y1 + 1);
  const w = g.w,
    d = g.data;
  let j = 0;
  for (let y = y0; y <= y1; y += step) {
    for (let x = x0; x <= x1; x += step) {
      const i = (y - g.y0) * w + (x - g.x0);
      const gx = (d[i + 1]! - d[i - 1]!) / 2,
        gy = (d[i + w]! - d[i - w]!) / 2;
      const u = x - cx,
        v = y - cy;
      const s0 = gx,
        s1 = gy,
        s2 = gx * u + gy * v,
        s3 = gy * u - gx * v;
      xs[j] = x;
      ys[j] = y;
      values[j] = d[i]!;
      sd[4 * j] = s0;
      sd[4 * j + 1] = s1;
      sd[4 * j + 2] = s2;
      sd[4 * j + 3] = s3;
      const s = [s0, s1, s2, s3];
      for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) H[a * 4 + b]! += s[a]! * s[b]!;
      j++;
    }
  }
  const hessianInv = invert4(H);
  if (!hessianInv) return null;
  return { cx, cy, radius: Math.hypot(x1 - x0, y1 - y0) / 2, box: [x0, y0, x1, y1], xs, ys, values, sd, hessianInv };
}

/**
 * The similarity transform (template's frame -> `cur`) of the upper face, by inverse-compositional Lucas-Kanade
 * from `init`, with the mean brightness difference of the two frames removed. Null when the fit does not settle.
 */
export function faceMotion(tpl: FaceTemplate, cur: RgbImage, init: Matrix2x3): Matrix2x3 | null {
  const { cx, cy, xs, ys, values, sd, hessianInv: Hi } = tpl;
  const n = xs.length;
  const e = new Float64Array(n);
  let M = init;
  // the current frame around where `init` puts the region, with room for the fit to move
  const [bx0, by0, bx1, by1] = tpl.box;
  const corners = [
    applyMatrix(init, [bx0, by0]),
    applyMatrix(init, [bx1, by0]),
    applyMatrix(init, [bx0, by1]),
    applyMatrix(init, [bx1, by1]),
  ];
  const margin = 4 + 0.1 * tpl.radius;
  const patch = greyPatch(
    cur,
    Math.min(...corners.map((c) => c[0])) - margin,
    Math.min(...corners.map((c) => c[1])) - margin,
    Math.max(...corners.map((c) => c[0])) + margin,
    Math.max(...corners.map((c) => c[1])) + margin,
  );
  for (let it = 0; it < MAX_ITERS; it++) {
    let mean = 0;
    for (let j = 0; j < n; j++) {
      const x = xs[j]!,
        y = ys[j]!;
      e[j] = samplePatch(patch, M[0][0] * x + M[0][1] * y + M[0][2], M[1][0] * x + M[1][1] * y + M[1][2]) - values[j]!;
      mean += e[j]!;
    }
    mean /= n;
    const g = [0, 0, 0, 0];
    for (let j = 0; j < n; j++) {
      const r = e[j]! - mean;
      for (let a = 0; a < 4; a++) g[a]! += sd[4 * j + a]! * r;
    }
    const dp = [0, 0, 0, 0];
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) dp[a]! += Hi[a * 4 + b]! * g[b]!;
    // increment about the region centre: x' = x + t + [[a, -b], [b, a]] (x - c); M <- M o D^-1
    const [tx, ty, da, db] = dp as [number, number, number, number];
    const D: Matrix2x3 = [
      [1 + da, -db, tx - da * cx + db * cy],
      [db, 1 + da, ty - db * cx - da * cy],
    ];
    M = composeMatrix(M, invertMatrix(D));
    if (!M.every((row) => row.every(Number.isFinite))) return null;
    if (Math.hypot(tx, ty) + Math.hypot(da, db) * tpl.radius < CONVERGED_PX) return M;
  }
  return null;
}

function invert4(m: Float64Array): Float64Array | null {
  const a = new Float64Array(32); // Gauss-Jordan on [m | I]
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) a[r * 8 + c] = m[r * 4 + c]!;
    a[r * 8 + 4 + r] = 1;
  }
  for (let c = 0; c < 4; c++) {
    let p = c;
    for (let r = c + 1; r < 4; r++) if (Math.abs(a[r * 8 + c]!) > Math.abs(a[p * 8 + c]!)) p = r;
    const pv = a[p * 8 + c]!;
    if (!(Math.abs(pv) > 1e-9)) return null;
    for (let k = 0; k < 8; k++) {
      const t = a[c * 8 + k]!;
      a[c * 8 + k] = a[p * 8 + k]!;
      a[p * 8 + k] = t;
    }
    for (let k = 0; k < 8; k++) a[c * 8 + k]! /= pv;
    for (let r = 0; r < 4; r++) {
      if (r === c) continue;
      const f = a[r * 8 + c]!;
      if (f !== 0) for (let k = 0; k < 8; k++) a[r * 8 + k]! -= f * a[c * 8 + k]!;
    }
  }
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) out[r * 4 + c] = a[r * 8 + 4 + c]!;
  return out;
}

/** How the image-measured speed opens the One Euro filter (see `OneEuroFilter.filter`'s gate). */
export interface MotionGate {
  /**
   * The filter's parameters when the speed is measured: with the noise below the dead zone, the landmarks' own
   * speed can open the filter steeply (beta) and soon (derivative cutoff), so mouths and blinks are not trailed.
   */
  filter: OneEuroParams;
  /** Cutoff (Hz) added per inter-ocular distance per second of the face's image-measured speed. */
  betaImage: number;
  /**
   * Landmark speed (inter-ocular distances per second) below which it does not open the filter: the noise. Brows,
   * eyes and nose (iBUG 17-47).
   */
  deadZone: number;
  /** The same for the jaw line and the mouth (iBUG 0-16, 48-67), whose mesh points are twice as noisy. */
  mouthDeadZone: number;
}

/**
 * Measured on the test clips (docs/alignments.md; tests/pipeline/extract-video.test.ts): stillest-second jitter
 * 15-62% lower than the ungated filter's (personC 0.00094 -> 0.00045 and vertical 0.0015 -> 0.00058, half their
 * figures before issue 17 or less) and less lag on every person clip (personD's head turns: 0.3 frame instead of
 * 0.7). The rest cutoff is low (0.02 Hz) because the image speed opens the filter as soon as the head moves.
 */
export const MOTION_GATE: MotionGate = {
  filter: { minCutoff: 0.02, beta: 60, dCutoff: 5 },
  betaImage: 4,
  deadZone: 0.5,
  mouthDeadZone: 0.8,
};

/** The gate's dead zone for each of the 136 coordinates of 68 landmarks (x, y interleaved). */
export function deadZones(gate: MotionGate): Float64Array {
  const out = new Float64Array(136);
  for (let k = 0; k < 68; k++)
    out[2 * k] = out[2 * k + 1] = k < RIGID_FROM || k >= RIGID_TO ? gate.mouthDeadZone : gate.deadZone;
  return out;
}

/**
 * Largest disagreement (mean over the 68 points, inter-ocular distances) between the image motion and the raw
 * landmarks' own similarity before the image motion is distrusted for that frame.
 */
const MAX_DISAGREEMENT = 0.05;

/** One face's motion over consecutive frames, from the frames themselves. */
export class FaceMotionMeter {
  private tpl: FaceTemplate | null = null;
  private tplLevel = 0;
  private prevScale = 1;
  private prevRaw: Point2[] | null = null;
  private lastT = 0;
  /** Frames whose speed came from the image (the rest from the raw landmarks' similarity). */
  imageFrames = 0;
  /**
   * The face's motion from the previous call's frame to the last one as the pixels register it, in full-frame
   * pixels (the similarity the speed was measured from); undefined on a track's first frame and where the image
   * fit failed or was distrusted (the speed then comes from the landmarks).
   */
  motion: Matrix2x3 | undefined;
  frames = 0;

  /**
   * Speed of the face (mean movement of its 68 points, inter-ocular distances per second) from the previous call's
   * frame to `frame` (at `tSec`); undefined on the first call. `raw`: the face's raw landmarks in `frame`.
   */
  measure(frame: RgbImage | ImagePyramid, rawFull: readonly Point2[], tSec: number): number | undefined {
    // Large faces are fitted on a smaller pyramid level (eye distance 64-128 px there): the speed is relative to
    // the eye distance, so this costs no precision that matters and keeps the cost per face about constant.
    const iodFull = interPupilDistance(rawFull);
    const level = frame instanceof ImagePyramid ? Math.max(0, Math.floor(Math.log2(iodFull / 64))) : 0;
    const img = frame instanceof ImagePyramid ? frame.view(level) : frame;
    const f = (frame instanceof ImagePyramid ? frame.width : img.width) / img.width;
    const raw = rawFull.map((p) => [(p[0] + 0.5) / f - 0.5, (p[1] + 0.5) / f - 0.5] as Point2);
    const tpl = this.tplLevel === level ? this.tpl : null,
      prevRaw = this.prevRaw,
      dt = tSec - this.lastT;
    this.frames++;
    let speed: number | undefined;
    if (prevRaw && prevRaw.length === raw.length && dt > 0) {
      const prevScaled =
        this.prevScale === f
          ? prevRaw
          : prevRaw.map(
              (p) => [(p[0] + 0.5) * (this.prevScale / f) - 0.5, (p[1] + 0.5) * (this.prevScale / f) - 0.5] as Point2,
            );
      const iod = interPupilDistance(raw);
      const M0 = umeyama(prevScaled.slice(RIGID_FROM, RIGID_TO), raw.slice(RIGID_FROM, RIGID_TO));
      let M = M0;
      const Mi = tpl ? faceMotion(tpl, img, M0) : null;
      this.motion = undefined;
      if (Mi && meanMove(Mi, M0, prevScaled) / iod <= MAX_DISAGREEMENT) {
        M = Mi;
        this.imageFrames++;
        // level pixels -> full-frame pixels: p_full = f p + (f - 1) / 2
        const c = (f - 1) / 2;
        this.motion = [
          [M[0][0], M[0][1], f * M[0][2] + c - (M[0][0] + M[0][1]) * c],
          [M[1][0], M[1][1], f * M[1][2] + c - (M[1][0] + M[1][1]) * c],
        ];
      }
      speed = meanMove(M, IDENTITY, prevScaled) / iod / dt;
    } else this.motion = undefined;
    this.lastT = tSec;
    this.prevRaw = raw;
    this.prevScale = f;
    this.tpl = faceTemplate(img, raw);
    this.tplLevel = level;
    return speed;
  }
}

const IDENTITY: Matrix2x3 = [
  [1, 0, 0],
  [0, 1, 0],
];

/** Mean distance between the images of `pts` under two transforms. */
function meanMove(a: Matrix2x3, b: Matrix2x3, pts: readonly Point2[]): number {
  let d = 0;
  for (const p of pts) {
    const q = applyMatrix(a, p),
      r = applyMatrix(b, p);
    d += Math.hypot(q[0] - r[0], q[1] - r[1]);
  }
  return d / pts.length;
}

/**
 * The meter run over a recorded raw landmark sequence and its frames (null landmarks = no face: the meter
 * restarts, as a new track would), as the tracker runs it: each frame's speed (`measure`) and motion (`motion`).
 * Frames are consumed one at a time.
 */
export async function measureSpeeds(
  seq: ReadonlyArray<readonly Point2[] | null>,
  frames: AsyncIterable<{ index: number; timeSec: number; image: RgbImage | ImagePyramid }>,
): Promise<{ speeds: Array<number | undefined>; motions: Array<Matrix2x3 | undefined> }> {
  const speeds: Array<number | undefined> = seq.map(() => undefined);
  const motions: Array<Matrix2x3 | undefined> = seq.map(() => undefined);
  let m: FaceMotionMeter | null = null;
  for await (const f of frames) {
    const lm = seq[f.index];
    if (!lm) {
      m = null;
      continue;
    }
    m ??= new FaceMotionMeter();
    speeds[f.index] = m.measure(f.image, lm, f.timeSec);
    motions[f.index] = m.motion;
  }
  return { speeds, motions };
}
