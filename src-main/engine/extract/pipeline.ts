/**
 * Extract on a video, on N threads:
 *
 *   decode + detect + landmarks (each worker, one chunk at a time)  ──raw landmarks──▶  main thread, frame order:
 *   track ids joined across chunks, One Euro smoothing, size and identity filters  ──kept faces──▶  the same
 *   worker: align, write the PNGs (from the pixels around each face it kept, chunks.ts)  ──entries──▶  main
 *   thread: alignments file, in frame order.
 *
 * Queues are fixed: each worker holds one chunk (32-96 processed frames, streamed from its own ffmpeg; of each
 * frame only the pyramid pixels around its faces are kept, ~0.5 MB a face at 720p, ~0.9 MB at 1080p), so memory
 * does not grow with the clip. The alignments file only ever holds a prefix of the clip
 * (chunks are committed in order), so `--skip-existing` resumes from it as before. Smoothing runs over the whole
 * clip in one pass, so it is the same whatever the number of workers; chunk boundaries are fixed by the clip
 * alone, so N workers write exactly what one writes (tested in tests/pipeline/extract-parallel.test.ts).
 */
import { availableParallelism, freemem } from 'node:os';
import type { AlignedFace, AlignmentsFrame } from '../../../src-shared/formats/alignments';
import type { ExtractOptions } from '../../../src-shared/stages/extract';
import { boxIou } from '../face/detector';
import { OneEuroFilter } from '../face/one-euro';
import { runClosing, throwIfCancelled } from '../stage';
import { openPool } from '../util/worker-rpc';
import type { ChunkWorkerApi, ChunkWorkerEvents } from './chunk-worker';
import { ChunkRunner, WARM_UP, type ChunkApi, type ChunkRange, type ChunkSetup, type PlannedFrame } from './chunks';
import type { FaceToWrite } from './face-writer';
import { r6 } from './face-writer';
import { addSteps, type StepTimes } from '../util/step-times';
import { SMOOTHING, smoothStep } from './tracker';

/** Processed frames per chunk on a long clip: the warm-up and the seek cost little (~4%). */
const CHUNK_FRAMES = 96;
/** A short clip is cut into at least ~12 chunks (of 32 frames or more) so that every core gets work. */
const MIN_CHUNK_FRAMES = 32;

/** The chunk length of a clip of `processed` frames: set by the clip alone, never by the number of workers. */
export function chunkLength(processed: number): number {
  return Math.min(CHUNK_FRAMES, Math.max(MIN_CHUNK_FRAMES, Math.ceil(processed / 12)));
}
/**
 * Memory a worker may take (tfjs wasm heap, face models, one decoded frame and its pyramid, the pixels a chunk keeps
 * for its faces: ~45 MB for 96 frames of one 720p face, ~85 MB at 1080p), to size the pool.
 */
const WORKER_BYTES = 600 * 2 ** 20;

/** The default number of workers: every core, as many as memory allows. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), Math.floor(freemem() / WORKER_BYTES)));
}

export interface VideoPipelineOptions {
  setup: ChunkSetup;
  frameCount: number;
  /** First frame to process (resume). */
  start: number;
  every: number;
  workers: number;
  chunkFrames?: number;
  /** First free track id (above those of a resumed file). */
  nextTrackId: number;
  signal: AbortSignal;
  /** Frames of the detect pass done so far (processed frames, in any order). */
  onProgress(done: number): void;
  /** Frames whose faces are written, in frame order (a chunk at a time). */
  onCommit(frames: Array<[string, AlignmentsFrame]>): Promise<void>;
}

export interface VideoPipelineResult {
  steps: StepTimes;
  facesFound: number;
  droppedBySize: number;
  droppedByIdentity: number;
  workers: number;
  humanVersion: string;
  backend: string;
}

/** The chunks of frames [start, frameCount), one in `every`. */
export function planChunks(start: number, frameCount: number, every: number, chunkFrames: number): ChunkRange[] {
  const processed = Math.max(0, Math.ceil((frameCount - start) / every));
  const out: ChunkRange[] = [];
  for (let c = 0, p = 0; p < processed; c++, p += chunkFrames) {
    const at = (q: number) => start + q * every;
    out.push({
      chunk: c,
      warmFrom: at(Math.max(0, p - WARM_UP)),
      start: at(p),
      end: Math.min(frameCount, at(Math.min(processed, p + chunkFrames))),
      every,
    });
  }
  return out;
}

export async function runVideoPipeline(o: VideoPipelineOptions): Promise<VideoPipelineResult> {
  const processed = Math.max(0, Math.ceil((o.frameCount - o.start) / o.every));
  const chunks = planChunks(o.start, o.frameCount, o.every, o.chunkFrames ?? chunkLength(processed));
  const n = Math.max(1, Math.min(o.workers, chunks.length));
  const options: ExtractOptions = o.setup.options;
  const steps: StepTimes = {};
  const res: VideoPipelineResult = {
    steps,
    facesFound: 0,
    droppedBySize: 0,
    droppedByIdentity: 0,
    workers: n,
    humanVersion: '',
    backend: '',
  };
  let done = 0;
  const onFrame = () => o.onProgress(++done);

  // One worker runs in this thread (no second copy of the models); more run in worker threads.
  const apis = await openPool<ChunkApi, ChunkWorkerApi, ChunkWorkerEvents>({
    n,
    entry: new URL('./chunk-worker.ts', import.meta.url),
    name: 'extract worker',
    onFrame,
    local: () => new ChunkRunner(onFrame, o.signal),
    remote: (w) => ({
      init: (s) => w.call('init', s),
      detect: (r) => w.call('detect', r),
      write: (r) => w.call('write', r),
    }),
  });
  // The in-order stage: smoothing state and track ids carried from chunk to chunk.
  const filters = new Map<number, OneEuroFilter>();
  let prev: Array<{ box: AlignedFace['box']; track: number }> = [];
  let nextTrack = o.nextTrackId;
  let planned = -1;
  const plannedWaiters = new Map<number, () => void>();
  const plan = async (range: ChunkRange, raw: Awaited<ReturnType<ChunkApi['detect']>>): Promise<PlannedFrame[]> => {
    // In chunk order.
    if (planned !== range.chunk - 1) await new Promise<void>((r) => plannedWaiters.set(range.chunk, r));
    addSteps(steps, raw.steps);
    const t0 = performance.now();
    const ids = new Map<number, number>();
    const out: PlannedFrame[] = raw.frames.map((fr, k) => {
      const faces = [...fr.faces].sort((a, b) => a.box[0] + a.box[2] / 2 - (b.box[0] + b.box[2] / 2));
      for (const f of faces) {
        if (ids.has(f.track)) continue;
        // A track the previous chunk ended with goes on under its id (and smoothing).
        const taken = new Set(ids.values());
        const link =
          k === 0
            ? prev
                .filter((p) => !taken.has(p.track) && boxIou(p.box, f.box) > 0.3)
                .sort((a, b) => boxIou(b.box, f.box) - boxIou(a.box, f.box))[0]
            : undefined;
        ids.set(f.track, link ? link.track : nextTrack++);
      }
      const present = new Set(faces.map((f) => ids.get(f.track)!));
      for (const id of filters.keys()) if (!present.has(id)) filters.delete(id);
      res.facesFound += faces.length;
      const kept: FaceToWrite[] = [];
      for (const f of faces) {
        const track = ids.get(f.track)!;
        let lm = f.lm;
        if (options.smooth) {
          let filter = filters.get(track);
          if (!filter) filters.set(track, (filter = new OneEuroFilter(SMOOTHING)));
          lm = smoothStep(filter, f.lm, fr.timeSec, f.speed);
        }
        if (options.minSize > 0 && Math.max(f.box[2], f.box[3]) < options.minSize) {
          res.droppedBySize++;
          continue;
        }
        let identity: number | undefined;
        if (f.sim !== undefined && f.nsim !== undefined) {
          const { refs, nrefs } = o.setup;
          identity = refs.length > 0 ? f.sim : undefined;
          const keep =
            refs.length > 0
              ? f.sim >= options.refThreshold && (nrefs.length === 0 || f.sim > f.nsim)
              : f.nsim < options.refThreshold;
          if (!keep) {
            res.droppedByIdentity++;
            continue;
          }
        }
        kept.push({
          lm,
          detScore: f.detScore,
          meshScore: f.meshScore,
          ...(f.confidence ? { confidence: f.confidence } : {}),
          track,
          ...(identity !== undefined ? { identity } : {}),
        });
      }
      prev = faces.map((f) => ({ box: f.box, track: ids.get(f.track)! }));
      return { index: fr.index, faces: kept };
    });
    steps.smooth = (steps.smooth ?? 0) + performance.now() - t0;
    planned = range.chunk;
    plannedWaiters.get(range.chunk + 1)?.();
    plannedWaiters.delete(range.chunk + 1);
    return out;
  };

  // Entries are committed in chunk order (the file only holds a prefix of the clip).
  const written = new Map<number, Array<[string, AlignmentsFrame]>>();
  let committed = 0;
  let committing: Promise<void> = Promise.resolve();
  const commit = (chunk: number, frames: Array<[string, AlignmentsFrame]>) => {
    written.set(chunk, frames);
    committing = committing.then(async () => {
      while (written.has(committed)) {
        // After a cancel nothing more is added: the file holds what progress said was done.
        throwIfCancelled(o.signal);
        const f = written.get(committed)!;
        written.delete(committed);
        committed++;
        await o.onCommit(f);
      }
    });
    return committing;
  };

  let next = 0;
  const timeOf = new Map<number, number>();
  const loop = async (a: ChunkApi) => {
    for (;;) {
      throwIfCancelled(o.signal);
      const range = chunks[next++];
      if (!range) return;
      const raw = await a.detect(range);
      for (const f of raw.frames) timeOf.set(f.index, f.timeSec);
      const planFrames = await plan(range, raw);
      throwIfCancelled(o.signal);
      const w = await a.write({ range, frames: planFrames });
      addSteps(steps, w.steps);
      await commit(
        range.chunk,
        w.frames.map((f) => {
          const timeSec = timeOf.get(f.index) ?? 0;
          timeOf.delete(f.index);
          return [String(f.index), { timeSec: r6(timeSec), faces: f.faces }];
        }),
      );
    }
  };
  // A cancel stops the workers at once (a face PNG cut short is a temporary file, swept by the next run).
  await runClosing(apis, o.signal, async () => {
    const info = await Promise.all(apis.map((a) => a.api.init(o.setup)));
    res.humanVersion = info[0]!.humanVersion;
    res.backend = info[0]!.backend;
    await Promise.all(apis.map((a) => loop(a.api)));
    await committing;
  });
  return res;
}
