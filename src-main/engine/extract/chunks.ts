/**
 * The work of one chunk of a video, in two passes:
 *
 *   detect: from a few frames before the chunk (warm-up: tracks confirmed, detection cadence in phase) to its end,
 *           decoded (ffmpeg, frame-accurate seek), faces are detected and tracked (tracker.ts, without smoothing),
 *           the identity filter measured; the raw landmarks of the chunk's frames go back to the main thread, which
 *           smooths them in frame order. Around each face the frame pixels the write pass will read (its crop's
 *           footprint, widened for the smoothing: face-writer.ts `footprintOf`) are kept.
 *   write:  the smoothed faces the main thread kept are aligned and their PNGs written from the kept pixels, pasted
 *           into a frame-sized buffer (a pyramid `known` to hold only them: a warp that would read anything else
 *           throws, and the chunk is decoded again from that frame on, as it is for the debug overlay and the
 *           hand masks, which read whole frames). Either way the same pixels are read, so the same files written.
 *
 * A chunk's work depends only on the chunk (fresh tracker, fixed boundaries), never on which worker runs it or
 * what that worker ran before: any number of workers writes what one writes. Runs in a worker thread
 * (chunk-worker.ts) or, for one worker, in the calling thread.
 */
import type { AlignedFace } from '../../../src-shared/formats/alignments';
import type { ExtractOptions } from '../../../src-shared/stages/extract';
import { FaceDetector, type DetectOptions } from '../face/detector';
import { loadFaceModels, type FaceModels } from '../face/human';
import { ImagePyramid, UnknownPixelsError, type LevelPatch, type PixelRect } from '../face/image';
import type { BoxXYWH, Point2 } from '../face/types';
import { decodeFrames } from '../media/decode';
import { throwIfCancelled } from '../stage';
import { writeDebug } from './debug-overlay';
import { alignAndWrite, readsOf, type FaceToWrite, type WriteTarget } from './face-writer';
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
/**
 * How far around a face's footprint its pixels are kept for the write pass, as a fraction of the footprint's
 * side: the smoothing moves landmarks by a few pixels, a fast face's by more (a face the kept pixels do not
 * cover is decoded again). On the 720p clip of the bench a face keeps ~0.5 MB per frame.
 */
export const KEEP_MARGIN = 0.1;

export interface ChunkSetup {
  path: string;
  stem: string;
  outDir: string;
  options: ExtractOptions;
  detect: DetectOptions;
  refs: Float32Array[];
  nrefs: Float32Array[];
  debugDir?: string;
  /** `KEEP_MARGIN` (default) or another; false keeps nothing: the write pass decodes its chunk again. */
  keepMargin?: number | false;
}

/** Of overlapping rectangles, their bounding one (so that a face between two reads from one). */
function mergeRects(rects: PixelRect[]): PixelRect[] {
  const out = [...rects];
  for (let i = 0; i < out.length; i++)
    for (let j = i + 1; j < out.length; j++) {
      const a = out[i]!,
        b = out[j]!;
      if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) {
        out[i] = {
          x0: Math.min(a.x0, b.x0),
          y0: Math.min(a.y0, b.y0),
          x1: Math.max(a.x1, b.x1),
          y1: Math.max(a.y1, b.y1),
        };
        out.splice(j, 1);
        j = i; // the grown one may now overlap one already passed
      }
    }
  return out;
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
    /** Frames the write pass decoded again (0 when the kept pixels covered every face). */
    decoded: number;
  }>;
}

/** The chunk work of one thread; `onFrame(chunk)` after each frame of the detect pass (progress). */
export class ChunkRunner implements ChunkApi {
  private setup: ChunkSetup | null = null;
  private models: FaceModels | null = null;
  private detector: FaceDetector | null = null;
  /** What the last detect pass kept, for the write pass of the same chunk. */
  private kept: { chunk: number; width: number; height: number; frames: Map<number, LevelPatch[]> } | null = null;
  /** The frame-sized buffer the kept pixels are pasted into (reused). */
  private canvas: Uint8Array | null = null;

  constructor(
    private readonly onFrame: (chunk: number) => void,
    private readonly signal?: AbortSignal,
  ) {}

  async init(setup: ChunkSetup): Promise<{ humanVersion: string; backend: string }> {
    this.setup = setup;
    // The stage resolved `auto` (extract/run.ts): its backend by name.
    const b = setup.options.backend;
    this.models = await loadFaceModels(b === 'auto' ? 'wasm' : b);
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
    // Nothing is kept for the debug overlay and the hand masks: they read whole frames.
    const margin = s.debugDir || s.options.hands ? false : (s.keepMargin ?? KEEP_MARGIN);
    this.kept = null;
    const kept = new Map<number, LevelPatch[]>();
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
      if (margin !== false) {
        const t0 = performance.now();
        const k = keepPixels(pyr, faces, s.options, margin);
        if (k) kept.set(f.index, k);
        steps.keep = (steps.keep ?? 0) + performance.now() - t0;
      }
      this.onFrame(r.chunk);
    }
    if (margin !== false)
      this.kept = { chunk: r.chunk, width: done?.width ?? 0, height: done?.height ?? 0, frames: kept };
    return { frames: out, steps };
  }

  async write(req: { range: ChunkRange; frames: PlannedFrame[] }): Promise<{
    frames: Array<{ index: number; faces: AlignedFace[] }>;
    steps: StepTimes;
    decoded: number;
  }> {
    const { s } = this.ready();
    const steps: StepTimes = {};
    const target: WriteTarget = { kind: 'video', sourcePath: s.path, options: s.options, outDir: s.outDir };
    const planned = new Map(req.frames.filter((f) => f.faces.length > 0).map((f) => [f.index, f.faces]));
    const out = new Map<number, AlignedFace[]>();
    const kept = this.kept?.chunk === req.range.chunk ? this.kept : null;
    this.kept = null;
    let decoded = 0;
    const writeFrame = async (index: number, pyr: ImagePyramid, plan: FaceToWrite[]) => {
      const frame = { index, key: String(index), stem: s.stem };
      const faces: AlignedFace[] = [];
      for (const face of plan) faces.push(await alignAndWrite(pyr, frame, face, faces.length, target, steps));
      out.set(index, faces);
      if (s.debugDir) {
        const dir = s.debugDir;
        await timed(steps, 'debug', () => writeDebug({ ...frame, image: pyr.base }, { faces }, dir, s.options.size));
      }
    };
    // The frames with a face to write, in order; those from `from` on are decoded again.
    const todo = [...planned.keys()].sort((a, b) => a - b);
    let from = todo.length;
    if (kept) {
      const { width, height } = kept;
      if (!this.canvas || this.canvas.length !== width * height * 3) this.canvas = new Uint8Array(width * height * 3);
      const image = { width, height, data: this.canvas };
      let done: ImagePyramid | undefined;
      for (let i = 0; i < todo.length; i++) {
        if (this.signal) throwIfCancelled(this.signal);
        const index = todo[i]!;
        const k = kept.frames.get(index);
        if (!k) {
          from = i;
          break;
        }
        const pyr = new ImagePyramid(image, done, k);
        done = pyr;
        try {
          await writeFrame(index, pyr, planned.get(index)!);
        } catch (e) {
          // A face whose warp reads outside the kept pixels: this frame and the rest are decoded (the PNGs
          // written so far are the same either way).
          if (!(e instanceof UnknownPixelsError)) throw e;
          from = i;
          break;
        }
      }
    } else from = 0;
    if (from < todo.length) {
      const first = todo[from]!;
      // Decoded from the first frame not written up to the last frame with a face to write.
      const last = todo[todo.length - 1]!;
      let done: ImagePyramid | undefined;
      for await (const f of this.frames(req.range, first, last + 1, steps)) {
        if (this.signal) throwIfCancelled(this.signal);
        decoded++;
        const plan = planned.get(f.index);
        if (!plan) continue;
        const pyr = new ImagePyramid({ width: f.width, height: f.height, data: f.data }, done);
        done = pyr;
        await writeFrame(f.index, pyr, plan);
      }
    }
    return {
      frames: req.frames.map((f) => ({ index: f.index, faces: out.get(f.index) ?? [] })),
      steps,
      decoded,
    };
  }
}

/**
 * The pyramid pixels of a frame that writing its faces will read (face-writer.ts `readsOf`, merged where they
 * overlap); undefined when there is no face, or its reads cannot be had (the write pass then decodes).
 */
function keepPixels(
  pyr: ImagePyramid,
  faces: RawFace[],
  options: ExtractOptions,
  margin: number,
): LevelPatch[] | undefined {
  const byLevel = new Map<number, PixelRect[]>();
  for (const face of faces) {
    // A face the size filter drops is not written.
    if (options.minSize > 0 && Math.max(face.box[2], face.box[3]) < options.minSize) continue;
    let reads: ReturnType<typeof readsOf>;
    try {
      reads = readsOf(pyr, face.lm, options, margin);
    } catch {
      return undefined;
    }
    for (const { level, rect } of reads) {
      if (![rect.x0, rect.y0, rect.x1, rect.y1].every(Number.isFinite)) return undefined;
      byLevel.set(level, [...(byLevel.get(level) ?? []), rect]);
    }
  }
  if (byLevel.size === 0) return undefined;
  return [...byLevel].flatMap(([level, rects]) => mergeRects(rects).map((r) => pyr.patch(level, r)));
}
