/**
 * The extract stage runner: source -> faces (detect/track, 68 landmarks, smoothing on video) -> identity and
 * size/blur filters -> aligned PNG crops + alignments file (written atomically every few seconds, on cancel and
 * at the end, so an interrupted run leaves a valid file that `--skip-existing` resumes). The first save of a
 * run keeps the previous file as `.bak`; the alignments file is locked for the run (util/lock.ts), and the
 * temporary files of killed runs are swept from its folder and the faces folder at the start.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import {
  ALIGNMENTS_FORMAT,
  ALIGNMENTS_VERSION,
  defaultAlignmentsPath,
  type Alignments,
  type AlignmentsFrame,
} from '../../../src-shared/formats/alignments';
import { RateMeter } from '../../../src-shared/progress';
import type { ExtractOptions } from '../../../src-shared/stages/extract';
import { DEFAULT_DETECT, FaceDetector, NON_HUMAN_MIN_MESH_SCORE, type DetectOptions } from '../face/detector';
import { faceBackend, humanPackageDir, loadFaceModels, type FaceModels } from '../face/human';
import { readImageRgb } from '../media/images';
import { openKeyedSource as openExtractSource, type KeyedSource as ExtractSource } from '../media/source';
import { throwIfCancelled, type StageContext } from '../stage';
import { sweepTemps, writeJsonAtomic } from '../util/atomic-write';
import { faultPoint } from '../util/faults';
import { acquireLock, lockFileFor } from '../util/lock';
import { referenceDescriptors } from './identity';
import { extractPhotos } from './photos';
import { defaultWorkers, runVideoPipeline } from './pipeline';
import { keepsBackup, loadExisting } from './resume';
import type { StepTimes } from '../util/step-times';

export { detectPhoto, rotateRgb, unrotatePoint } from './rotate';

export interface ExtractResult {
  alignmentsPath: string;
  outputDir: string;
  /** Frames (or photos) processed in this run. */
  framesProcessed: number;
  /** Frames already in the alignments file and skipped (`--skip-existing`). */
  framesSkipped: number;
  framesWithFaces: number;
  facesFound: number;
  facesWritten: number;
  droppedByIdentity: number;
  droppedBySize: number;
  droppedByBlur: number;
  elapsedMs: number;
  framesPerSecond: number;
  /** Threads that ran the video pipeline (pipeline.ts). */
  workers: number;
  /** Milliseconds per step over every frame and worker (steps.ts): decode, detect, landmarks, identity, smooth, align, write. */
  steps: StepTimes;
}

/** Test and bench hooks: the number of workers (default: every core memory allows) and the chunk length. */
export interface ExtractHooks {
  workers?: number;
  chunkFrames?: number;
}

const SAVE_EVERY_MS = 3000;

async function humanPackageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(humanPackageDir(), 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export async function runExtract(
  options: ExtractOptions,
  ctx: StageContext,
  hooks: ExtractHooks = {},
): Promise<ExtractResult> {
  const t0 = Date.now();
  const input = resolve(options.input);
  const outDir = resolve(options.output);
  const { signal } = ctx;
  ctx.progress({ stage: 'extract', fraction: 0, title: 'Opening source', detail: input });
  const source = await openExtractSource(input, signal);
  // A photo is decoded once before anything is created: a corrupt one leaves no empty folder or alignments file.
  if (source.kind === 'image') await readImageRgb(input);
  const alignmentsPath = resolve(options.alignments ?? defaultAlignmentsPath(input, source.kind === 'folder'));
  try {
    await mkdir(outDir, { recursive: true });
    if (options.debugLandmarks) await mkdir(resolve(options.debugLandmarks), { recursive: true });
    await mkdir(dirname(alignmentsPath), { recursive: true });
  } catch (e) {
    throw new UserError('unwritable', `${outDir}: cannot create the output folder (${(e as Error).message})`, outDir);
  }
  const lock = await acquireLock(lockFileFor(alignmentsPath, false), alignmentsPath, {
    log: (m) => ctx.log('warn', m),
  });
  try {
    await sweepExtractLeftovers(alignmentsPath, outDir, ctx);
    return await extractLocked(options, ctx, { t0, input, outDir, source, alignmentsPath }, hooks);
  } finally {
    await lock.release();
  }
}

/** Temporary files of killed runs: ours, and write-file-atomic's `<alignments>.<n>` / `<face>.png.<n>` of earlier versions. */
async function sweepExtractLeftovers(alignmentsPath: string, outDir: string, ctx: StageContext): Promise<void> {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const removed = [
    ...(await sweepTemps(dirname(alignmentsPath), [new RegExp(`^${esc(basename(alignmentsPath))}\\.\\d+$`)])),
    ...(dirname(alignmentsPath) === outDir ? [] : await sweepTemps(outDir, [/_\d+\.png\.\d{5,}$/])),
  ];
  if (removed.length)
    ctx.log(
      'info',
      `removed ${removed.length} leftover file(s) of an interrupted run (${removed.slice(0, 5).join(', ')}${removed.length > 5 ? ', ...' : ''})`,
    );
}

async function extractLocked(
  options: ExtractOptions,
  ctx: StageContext,
  o: { t0: number; input: string; outDir: string; source: ExtractSource; alignmentsPath: string },
  hooks: ExtractHooks,
): Promise<ExtractResult> {
  const { t0, input, outDir, source, alignmentsPath } = o;
  const { signal } = ctx;

  ctx.progress({ stage: 'extract', fraction: 0, title: 'Hashing source', detail: basename(input) });
  const sha256 = await source.sha256();
  const now = new Date().toISOString();
  const settings: Alignments['settings'] = {
    size: options.size,
    centering: options.centering,
    everyN: options.everyN,
    smooth: options.smooth,
    alignEyes: options.alignEyes,
    mirrorPass: options.mirrorPass,
  };
  let doc: Alignments | null = null;
  if (options.skipExisting) doc = await loadExisting(alignmentsPath, sha256, settings);

  const detectOpts: DetectOptions = {
    ...DEFAULT_DETECT,
    minFaceSize: Math.max(options.minSize, 24),
    ...(options.keepNonHuman ? { minMeshScore: NON_HUMAN_MIN_MESH_SCORE } : {}),
    mirror: options.mirrorPass === 'all' || (options.mirrorPass === 'photos' && source.kind !== 'video'),
  };
  const filtering = options.filter.length > 0 || options.nfilter.length > 0;
  const video = source.kind === 'video';
  // The models load here for photos and for the filter's reference photos; a video's workers load their own.
  let models: FaceModels | null = null;
  let detector: FaceDetector | null = null;
  // `auto` is resolved once, here: the workers get the backend by name.
  const backend = await faceBackend(options.backend);
  if (!video || filtering) {
    ctx.progress({ stage: 'extract', fraction: 0, title: 'Loading face models' });
    models = await loadFaceModels(backend);
    detector = new FaceDetector(models);
  }
  const refs = detector ? await referenceDescriptors(detector, options.filter, detectOpts, signal) : [];
  const nrefs = detector ? await referenceDescriptors(detector, options.nfilter, detectOpts, signal) : [];

  const result: ExtractResult = {
    alignmentsPath,
    outputDir: outDir,
    framesProcessed: 0,
    framesSkipped: 0,
    framesWithFaces: 0,
    facesFound: 0,
    facesWritten: 0,
    droppedByIdentity: 0,
    droppedBySize: 0,
    droppedByBlur: 0,
    elapsedMs: 0,
    framesPerSecond: 0,
    workers: 1,
    steps: {},
  };

  // Resume: video continues after the last processed frame; photos skip the keys already present.
  const doneKeys = new Set(Object.keys(doc?.frames ?? {}));
  let start = 0;
  if (video && doneKeys.size > 0) {
    const last = Math.max(...[...doneKeys].map(Number).filter(Number.isFinite));
    start = last + options.everyN;
    result.framesSkipped = doneKeys.size;
  }

  let alignments: Alignments | null = doc;
  if (alignments) alignments.complete = false;
  const newDoc = (humanVersion: string, backend: string): Alignments => ({
    format: ALIGNMENTS_FORMAT,
    version: ALIGNMENTS_VERSION,
    createdAt: now,
    updatedAt: now,
    generator: {
      app: 'faceswap-studio',
      detector: `@vladmandic/human ${humanVersion} blazeface + facemesh (${backend})`,
      landmarks: 'ibug68 from mediapipe-468 (docs/alignments.md, v2: held-out weights of issue 17)',
    },
    source: {
      kind: source.kind,
      path: input,
      ...(source.width !== undefined ? { width: source.width, height: source.height } : {}),
      ...(source.fps !== undefined ? { fps: source.fps, frameCount: source.total } : {}),
      sha256,
    },
    settings,
    complete: false,
    frames: {},
  });
  // A video's workers load the models (on `backend`, Human's version) themselves.
  alignments ??= models ? newDoc(models.humanVersion, models.backend) : newDoc(await humanPackageVersion(), backend);

  const meter = new RateMeter();
  let lastSave = Date.now();
  let lastFraction = 0;
  const backup = await keepsBackup(alignmentsPath);
  let saved = false;
  const save = async (complete: boolean) => {
    if (!alignments) return;
    alignments.complete = complete;
    alignments.updatedAt = new Date().toISOString();
    await writeJsonAtomic(alignmentsPath, alignments, { backup: backup && !saved });
    saved = true;
    faultPoint('extract:saved');
  };
  // `pos`: the frames done (in the alignments file); `ahead`: how far the work has got (a video's detect pass).
  const report = (pos: number, ahead = pos) => {
    const nowMs = Date.now();
    const rate = meter.update(result.framesProcessed, nowMs);
    const fraction = Math.max(lastFraction, Math.min(0.999, (0.15 * pos + 0.85 * ahead) / Math.max(1, source.total)));
    lastFraction = fraction;
    const remaining = Math.max(0, (source.total - pos) / (video ? options.everyN : 1));
    const eta = meter.etaMs(remaining);
    ctx.progress({
      stage: 'extract',
      fraction,
      title: 'Extracting faces',
      detail: `${video ? 'frame' : 'image'} ${pos} / ${source.total}`,
      done: pos,
      total: source.total,
      rate,
      rateUnit: 'frames/s',
      ...(eta !== undefined ? { etaMs: eta } : {}),
      metrics: { faces: result.facesWritten, framesWithFaces: result.framesWithFaces },
    });
  };
  const record = (key: string, entry: AlignmentsFrame) => {
    for (const f of entry.faces) {
      if (f.file) result.facesWritten++;
      else result.droppedByBlur++;
    }
    if (entry.faces.length > 0) result.framesWithFaces++;
    alignments!.frames[key] = entry;
  };
  const saveNow = async () => {
    const nowMs = Date.now();
    if (nowMs - lastSave > SAVE_EVERY_MS) {
      lastSave = nowMs;
      await save(false);
    }
  };

  let failed = true;
  let saveError: unknown = null;
  try {
    if (video) {
      let ahead = start;
      const tracks = Object.values(doc?.frames ?? {}).flatMap((f) => f.faces.map((x) => x.track ?? -1));
      const pipelineDir = options.debugLandmarks ? resolve(options.debugLandmarks) : undefined;
      const r = await runVideoPipeline({
        setup: {
          path: input,
          stem: basename(input, extname(input)),
          outDir,
          options: { ...options, backend },
          detect: detectOpts,
          refs,
          nrefs,
          ...(pipelineDir ? { debugDir: pipelineDir } : {}),
        },
        frameCount: source.total,
        start,
        every: options.everyN,
        workers: hooks.workers ?? defaultWorkers(),
        ...(hooks.chunkFrames ? { chunkFrames: hooks.chunkFrames } : {}),
        nextTrackId: tracks.length ? Math.max(...tracks) + 1 : 0,
        signal,
        onProgress: (detected) => {
          ahead = Math.min(source.total, start + detected * options.everyN);
          report(Math.min(source.total, start + result.framesProcessed * options.everyN), ahead);
        },
        onCommit: async (frames) => {
          for (const [key, entry] of frames) record(key, entry);
          result.framesProcessed += frames.length;
          const last = Number(frames[frames.length - 1]?.[0] ?? start);
          report(Math.min(source.total, last + 1), Math.max(ahead, last + 1));
          await saveNow();
        },
      });
      result.facesFound = r.facesFound;
      result.droppedBySize = r.droppedBySize;
      result.droppedByIdentity = r.droppedByIdentity;
      result.workers = r.workers;
      result.steps = r.steps;
    } else {
      await extractPhotos({
        source,
        options,
        detectOpts,
        detector: detector!,
        models: models!,
        refs,
        nrefs,
        outDir,
        signal,
        steps: result.steps,
        skip: (key) => {
          if (doneKeys.has(key)) {
            result.framesSkipped++;
            return true;
          }
          return false;
        },
        onFrame: async (frame, entry, counts) => {
          result.facesFound += counts.found;
          result.droppedBySize += counts.bySize;
          result.droppedByIdentity += counts.byIdentity;
          record(frame.key, entry);
          result.framesProcessed++;
          report(frame.index + 1);
          await saveNow();
        },
      });
    }
    throwIfCancelled(signal);
    failed = false;
  } finally {
    // Leave a valid file behind whatever happened (cancel, bad frame): complete only on success.
    try {
      await save(!failed);
    } catch (e) {
      saveError = e;
      ctx.log('error', `could not save ${alignmentsPath}: ${(e as Error).message}`);
    }
  }
  if (saveError)
    throw new UserError(
      'unwritable',
      `${alignmentsPath}: cannot write the alignments file (${(saveError as Error).message})`,
      alignmentsPath,
    );
  result.elapsedMs = Date.now() - t0;
  result.framesPerSecond = result.framesProcessed / Math.max(1e-3, result.elapsedMs / 1000);
  if (result.facesFound === 0 && result.framesSkipped === 0) ctx.log('warn', `no face found in ${input}`);
  ctx.progress({
    stage: 'extract',
    fraction: 1,
    title: 'Done',
    detail: `${result.facesWritten} faces from ${result.framesProcessed} frames`,
    done: source.total,
    total: source.total,
    rate: result.framesPerSecond,
    rateUnit: 'frames/s',
    etaMs: 0,
    metrics: { faces: result.facesWritten, framesWithFaces: result.framesWithFaces },
  });
  return result;
}
