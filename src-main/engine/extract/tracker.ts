/**
 * Faces over the frames of a video: each face is followed by re-running the mesh on the region its previous
 * mesh gives (MediaPipe's tracking), detection runs again every `detectEvery` processed frames, when no face is
 * tracked, and after a scene cut; every track has its own One Euro filter on the 68 landmarks, opened by the face's
 * speed as measured in the frames (face/stabilize.ts: `FaceMotionMeter`, `MOTION_GATE`).
 */
import type { DetectOptions, FaceDetector, MeshFace } from '../face/detector';
import { boxIou } from '../face/detector';
import type { ImagePyramid } from '../face/image';
import { interPupilDistance } from '../face/ibug68';
import { OneEuroFilter, type OneEuroParams } from '../face/one-euro';
import { deadZones, FaceMotionMeter, MOTION_GATE, type MotionGate } from '../face/stabilize';
import type { Point2 } from '../face/types';

/**
 * Smoothing parameters, in units of the inter-ocular distance (speed in IOD per second): measured on the test
 * clips (see the extract pipeline test and docs/alignments.md) for the lowest still jitter that still follows head
 * turns. Against the earlier { minCutoff 1, beta 4, dCutoff 1 }: stillest-second jitter 6-15% lower on the four
 * still-headed clips and less lag on personD's head turns (0.7 frame instead of 0.9): the faster derivative
 * (dCutoff 2 Hz) lets a steeper speed response (beta 6) open the filter sooner, so the rest cutoff can be low.
 */
export const SMOOTHING: OneEuroParams = { minCutoff: 0.1, beta: 6.0, dCutoff: 2.0 };

export interface Track {
  id: number;
  /**
   * Output only once confirmed: at once when the mesh model is sure (>= detect.minMeshScore, the photo bar), or
   * after `CONFIRM_FRAMES` tracked frames at the lower video bar (blurred, small or turned faces in video score
   * 0.85-0.99 where a still photo of a dog face scores 0.988 once: a real face keeps its score frame after frame).
   */
  confirmed: boolean;
  hits: number;
  face: MeshFace;
  filter: OneEuroFilter | null;
  /** Measures the face's speed in the frames (with smoothing, or `measureMotion`). */
  motion: FaceMotionMeter | null;
  /** Identity similarities measured so far (filters), newest last. */
  sims: number[];
  nsims: number[];
  framesSinceDescriptor: number;
}

export interface TrackedFace {
  track: Track;
  /** Landmarks after smoothing (or the raw ones). */
  landmarks68: Point2[];
  face: MeshFace;
  /** The face's speed since the previous frame, measured in the frames (inter-ocular distances per second). */
  speed?: number;
}

/** Detection passes per pass that also searches zoomed tiles, while faces are tracked. */
const TILE_EVERY = 4;
/** Tracked frames that confirm a face found below the photo bar. */
export const CONFIRM_FRAMES = 3;
/** Mesh face score a video detection needs to start a (pending) track. */
export const VIDEO_MIN_MESH_SCORE = 0.85;

export interface TrackerOptions {
  detect: DetectOptions;
  smooth: boolean;
  detectEvery: number;
  /** Measure each face's speed in the frames (`TrackedFace.speed`) even without smoothing (default: `smooth`). */
  measureMotion?: boolean;
  /** Adds the time of detection passes (`detect`) and of tracking meshes (`landmarks`), ms. */
  steps?: Record<string, number>;
}

/** Mean absolute difference of two 32x32 grey thumbnails, 0..255. */
function thumb(pyr: ImagePyramid): Float32Array {
  const img = pyr.base;
  const out = new Float32Array(32 * 32);
  for (let y = 0; y < 32; y++) {
    for (let x = 0; x < 32; x++) {
      const sx = Math.min(img.width - 1, Math.floor(((x + 0.5) * img.width) / 32));
      const sy = Math.min(img.height - 1, Math.floor(((y + 0.5) * img.height) / 32));
      const i = (sy * img.width + sx) * 3;
      out[y * 32 + x] = 0.299 * img.data[i]! + 0.587 * img.data[i + 1]! + 0.114 * img.data[i + 2]!;
    }
  }
  return out;
}

export class FaceTracker {
  private tracks: Track[] = [];
  private nextId = 0;
  private sinceDetect = Infinity;
  private prevThumb: Float32Array | null = null;
  private detections = 0;

  constructor(
    private readonly detector: FaceDetector,
    private readonly opts: TrackerOptions,
  ) {}

  /** Scene cut: the frame differs from the previous one far more than motion does. */
  private sceneCut(pyr: ImagePyramid): boolean {
    const t = thumb(pyr);
    const prev = this.prevThumb;
    this.prevThumb = t;
    if (!prev) return false;
    let d = 0;
    for (let i = 0; i < t.length; i++) d += Math.abs(t[i]! - prev[i]!);
    return d / t.length > 30;
  }

  async process(pyr: ImagePyramid, timeSec: number): Promise<TrackedFace[]> {
    const cut = this.sceneCut(pyr);
    if (cut) this.tracks = [];
    const kept: Track[] = [];
    const steps = this.opts.steps;
    for (const t of this.tracks) {
      const t0 = performance.now();
      const f = await this.detector.track(pyr, t.face, this.opts.detect);
      if (steps) steps.landmarks = (steps.landmarks ?? 0) + performance.now() - t0;
      if (!f) continue;
      t.face = f;
      t.hits++;
      if (!t.confirmed && t.hits >= CONFIRM_FRAMES) t.confirmed = true;
      kept.push(t);
    }
    // Two tracks that slid onto one face: keep the older.
    this.tracks = kept.filter((t, i) => !kept.some((o, j) => j < i && boxIou(o.face.box, t.face.box) > 0.5));
    this.sinceDetect++;
    if (this.tracks.length === 0 || this.sinceDetect >= this.opts.detectEvery) {
      this.sinceDetect = 0;
      // Zoomed tiles (small faces) cost several detector runs: while faces are tracked they run on one detection
      // pass in TILE_EVERY; with no face tracked, always.
      const tiles = this.tracks.length === 0 || this.detections % TILE_EVERY === 0;
      this.detections++;
      const t0 = performance.now();
      const found = await this.detector.detect(pyr, {
        ...this.opts.detect,
        tiles,
        minMeshScore: Math.min(this.opts.detect.minMeshScore, VIDEO_MIN_MESH_SCORE),
      });
      if (steps) steps.detect = (steps.detect ?? 0) + performance.now() - t0;
      for (const f of found) {
        if (this.tracks.some((t) => boxIou(t.face.box, f.box) > 0.3)) continue;
        this.tracks.push({
          id: this.nextId++,
          face: f,
          confirmed: f.meshScore >= this.opts.detect.minMeshScore,
          hits: 1,
          filter: this.opts.smooth ? new OneEuroFilter(SMOOTHING) : null,
          motion: (this.opts.measureMotion ?? this.opts.smooth) ? new FaceMotionMeter() : null,
          sims: [],
          nsims: [],
          framesSinceDescriptor: Infinity,
        });
      }
    }
    return this.tracks
      .filter((t) => t.confirmed)
      .map((track) => {
        const raw = track.face.landmarks68;
        const speed = track.motion?.measure(pyr, raw, timeSec);
        const sp = speed === undefined ? {} : { speed };
        if (!track.filter) return { track, face: track.face, landmarks68: raw, ...sp };
        return { track, face: track.face, landmarks68: smoothStep(track.filter, raw, timeSec, speed), ...sp };
      });
  }
}

/**
 * One filter step on 68 landmarks (speed measured in inter-ocular distances per second). `speed`: the face's speed
 * measured in the frames (`TrackedFace.speed`), which opens the filter by `gate` (with the gate's parameters);
 * without it (the first frame of a track, or a caller that has no frames) the filter is the plain One Euro filter
 * with its own parameters (`SMOOTHING`).
 */
export function smoothStep(
  filter: OneEuroFilter,
  raw: readonly Point2[],
  timeSec: number,
  speed?: number,
  gate: MotionGate = MOTION_GATE,
): Point2[] {
  const flat = new Float64Array(raw.length * 2);
  raw.forEach((p, i) => {
    flat[2 * i] = p[0];
    flat[2 * i + 1] = p[1];
  });
  const sm = filter.filter(
    flat,
    timeSec,
    interPupilDistance(raw),
    speed === undefined
      ? undefined
      : { extraCutoff: gate.betaImage * speed, deadZone: deadZones(gate), params: gate.filter },
  );
  return raw.map((_, i) => [sm[2 * i]!, sm[2 * i + 1]!] as Point2);
}

/**
 * The smoothing the tracker applies, run over a recorded landmark sequence (null = no face: the filter restarts,
 * as a new track would) and the faces' measured speeds (face/stabilize.ts `measureSpeeds`; absent: the plain One
 * Euro filter). Used to measure jitter with and without smoothing from one raw extraction.
 */
export function smoothSequence(
  seq: ReadonlyArray<readonly Point2[] | null>,
  times: readonly number[],
  params: OneEuroParams = SMOOTHING,
  speeds?: ReadonlyArray<number | undefined>,
  gate: MotionGate = MOTION_GATE,
): Array<Point2[] | null> {
  let f: OneEuroFilter | null = null;
  return seq.map((lm, i) => {
    if (!lm) {
      f = null;
      return null;
    }
    f ??= new OneEuroFilter(params);
    return smoothStep(f, lm, times[i]!, speeds?.[i], gate);
  });
}
