/**
 * The work of one chunk of a video, in two passes, each decoding the chunk itself (ffmpeg, frame-accurate seek):
 *
 *   detect: from a few frames before the chunk (warm-up: tracks confirmed, detection cadence in phase) to its end,
 *           faces are detected and tracked (tracker.ts, without smoothing), the identity filter measured; the raw
 *           landmarks of the chunk's frames go back to the main thread, which smooths them in frame order.
 *   write:  the smoothed faces the main thread kept are aligned and their PNGs written (and the debug overlay).
 *
 * A chunk's work depends only on the chunk (fresh tracker, fixed boundaries), never on which worker runs it or
 * what that worker ran before: any number of workers writes what one writes. Runs in a worker thread
 * (chunk-worker.ts) or, for one worker, in the calling thread.
 */
import type { AlignedFace } from '../../../src-shared/formats/alignments';
import type { ExtractOptions } from '../../../src-shared/stages/extract';
import { FaceDetector, type DetectOptions } from '../face/detector';
import { loadFaceModels, type FaceModels } from '../face/human';
import { ImagePyramid } from '../face/image';
import type { BoxXYWH, Point2 } from '../face/types';
import { decodeFrames } from '../media/decode';
import { throwIfCancelled } from '../stage';
import { writeDebug } from './debug-overlay';
import { alignAndWrite, type FaceToWrite, type WriteTarget } from './face-writer';
import { identityOf } from './identity';
import { timed, timedIterator, type StepTimes } from '../util/step-times';
import { FaceTracker } from './tracker';

/** How often faces are re-detected on video (processed frames) while tracking. */
export const DETECT_EVERY = 8;
/**
 * Processed frames a chunk's tracker runs before its first frame: a face it finds there is confirmed (tracker.ts,
 * CONFIRM_FRAMES) by the chunk's first frame, as it would be in one pass (smoothing is not restarted: it runs over
 * the whole clip on the main thread).
 */
export const WARM_UP = 4;

export interface ChunkSetup {
  path: string;
  stem: string;
  outDir: string;
  options: ExtractOptions;
  detect: DetectOptions;
  refs: Float32Array[];
  nrefs: Float32Array[];
  debugDir?: string;
}

/** A face as the tracker found it: raw (unsmoothed) landmarks, its chunk-local track. */
export interface RawFace {
  lm: Point2[];
  box: BoxXYWH;
  detScore: number;
  meshScore: number;
  confidence?: number[];
  track: number;
  sim?: number;
  nsim?: number;
  /** The face's speed measured in the frames (tracker.ts `TrackedFace.speed`), which opens the smoothing. */
  speed?: number;
}

export interface RawFrame {
  index: number;
  timeSec: number;
  faces: RawFace[];
}

/** Frames [warmFrom, end) one in `every` are decoded; those from `start` on are the chunk's. */
export interface ChunkRange {
  chunk: number;
  warmFrom: number;
  start: number;
  end: number;
  every: number;
}

export interface PlannedFrame {
  index: number;
  faces: FaceToWrite[];
}

export interface ChunkApi {
  init(setup: ChunkSetup): Promise<{ humanVersion: string; backend: string }>;
  detect(r: ChunkRange): Promise<{ frames: RawFrame[]; steps: StepTimes }>;
  write(r: { range: ChunkRange; frames: PlannedFrame[] }): Promise<{
    frames: Array<{ index: number; faces: AlignedFace[] }>;
    steps: StepTimes;
  }>;
}

/** The chunk work of one thread; `onFrame(chunk)` after each frame of the detect pass (progress). */
export class ChunkRunner implements ChunkApi {
  private setup: ChunkSetup | null = null;
  private models: FaceModels | null = null;
  private detector: FaceDetector | null = null;

  constructor(
    private readonly onFrame: (chunk: number) => void,
    private readonly signal?: AbortSignal,
  ) {}

  async init(setup: ChunkSetup): Promise<{ humanVersion: string; backend: string }> {
    this.setup = setup;
    this.models = await loadFaceModels();
    this.detector = new FaceDetector(this.models);
    return { humanVersion: this.models.humanVersion, backend: this.models.backend };
  }

  private ready(): { s: ChunkSetup; models: FaceModels; detector: FaceDetector } {
    if (!this.setup || !this.models || !this.detector) throw new Error('chunk runner used before init');
    return { s: this.setup, models: this.models, detector: this.detector };
  }

  private frames(r: ChunkRange, from: number, end: number, steps: StepTimes) {
    const { s } = this.ready();
    return timedIterator(
      steps,
      'decode',
      // Each frame is done with before the next is decoded (the tracker and the motion meter keep copies).
      decodeFrames(s.path, {
        start: from,
        end,
        every: r.every,
        recycle: true,
        ...(this.signal ? { signal: this.signal } : {}),
      }),
    );
  }

  async detect(r: ChunkRange): Promise<{ frames: RawFrame[]; steps: StepTimes }> {
    const { s, models, detector } = this.ready();
    const steps: StepTimes = {};
    const filtering = s.refs.length > 0 || s.nrefs.length > 0;
    // measureMotion: each face's speed in the frames, for the main thread's smoothing (issue 17, face/stabilize.ts)
    const tracker = new FaceTracker(detector, {
      detect: s.detect,
      smooth: false,
      measureMotion: s.options.smooth,
      detectEvery: DETECT_EVERY,
      steps,
    });
    const out: RawFrame[] = [];
    let done: ImagePyramid | undefined; // the previous frame's, whose level buffers the next one reuses
    for await (const f of this.frames(r, r.warmFrom, r.end, steps)) {
      if (this.signal) throwIfCancelled(this.signal);
      const pyr = new ImagePyramid({ width: f.width, height: f.height, data: f.data }, done);
      done = pyr;
      const tracked = await tracker.process(pyr, f.timeSec);
      if (f.index < r.start) continue;
      const faces: RawFace[] = [];
      for (const t of tracked) {
        const id = filtering
          ? await timed(steps, 'identity', () => identityOf(detector, pyr, t.face, t.track, s.refs, s.nrefs, models))
          : undefined;
        faces.push({
          lm: t.landmarks68,
          box: t.face.box,
          detScore: t.face.detScore,
          meshScore: t.face.meshScore,
          ...(t.face.confidence ? { confidence: t.face.confidence } : {}),
          track: t.track.id,
          ...(id ? { sim: id.sim, nsim: id.nsim } : {}),
          ...(t.speed !== undefined ? { speed: t.speed } : {}),
        });
      }
      out.push({ index: f.index, timeSec: f.timeSec, faces });
      this.onFrame(r.chunk);
    }
    return { frames: out, steps };
  }

  async write(req: { range: ChunkRange; frames: PlannedFrame[] }): Promise<{
    frames: Array<{ index: number; faces: AlignedFace[] }>;
    steps: StepTimes;
  }> {
    const { s } = this.ready();
    const steps: StepTimes = {};
    const target: WriteTarget = { kind: 'video', sourcePath: s.path, options: s.options, outDir: s.outDir };
    const planned = new Map(req.frames.filter((f) => f.faces.length > 0).map((f) => [f.index, f.faces]));
    const out = new Map<number, AlignedFace[]>();
    if (planned.size > 0) {
      // Decoded up to the last frame with a face to write.
      const last = Math.max(...planned.keys());
      let done: ImagePyramid | undefined;
      for await (const f of this.frames(req.range, req.range.start, last + 1, steps)) {
        if (this.signal) throwIfCancelled(this.signal);
        const plan = planned.get(f.index);
        if (!plan) continue;
        const image = { width: f.width, height: f.height, data: f.data };
        const pyr = new ImagePyramid(image, done);
        done = pyr;
        const frame = { index: f.index, key: String(f.index), stem: s.stem };
        const faces: AlignedFace[] = [];
        for (const face of plan) faces.push(await alignAndWrite(pyr, frame, face, faces.length, target, steps));
        out.set(f.index, faces);
        if (s.debugDir) {
          const dir = s.debugDir;
          await timed(steps, 'debug', () => writeDebug({ ...frame, image }, { faces }, dir, s.options.size));
        }
      }
    }
    return { frames: req.frames.map((f) => ({ index: f.index, faces: out.get(f.index) ?? [] })), steps };
  }
}
