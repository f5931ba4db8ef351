/**
 * The `evaluate` stage: compares a swapped video with its original, frame by frame, and measures identity,
 * pose, expression, temporal stability and (given the model and held-out faces) reconstruction. Every
 * measurement comes from @vladmandic/human's detector, mesh and descriptor plus the plain formulas of
 * metrics.ts: nothing the trainer optimises. Definitions: docs/quality.md.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { availableParallelism, freemem } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../../src-shared/errors';
import { QUALITY_VERSION, qualityVerdict, type QualityReport } from '../../../src-shared/formats/quality';
import { RateMeter } from '../../../src-shared/progress';
import type { EvaluateOptions } from '../../../src-shared/stages/evaluate';
import { configDir } from '../app-info';
import { faceBackend } from '../face/human';
import type { Point2 } from '../face/types';
import { isImagePath, listImages, readImage } from '../media/images';
import { probeVideo } from '../media/probe';
import { runClosing, throwIfCancelled, type StageContext } from '../stage';
import { writeJsonAtomic } from '../util/atomic-write';
import { openPool } from '../util/worker-rpc';
import { Measurer, type FrameMeasure, type MeasureRange, type MeasureSetup } from './measure';
import type { MeasureWorkerApi, MeasureWorkerEvents } from './measure-worker';
import { landmarkJitter, meanDescriptor, psnr, ssim, summarise } from './metrics';

/** At most this many reference images per identity (evenly spread) go into its mean descriptor. */
const MAX_REFERENCES = 40;

/**
 * Measured frames per range (measure.ts), from the clip alone. Each range's decoders start at the keyframe before
 * it and decode the frames up to it for nothing (a phone clip or a short cut often has one keyframe: range k then
 * decodes k ranges' worth in vain), so a short clip gets few ranges: 2 up to 64 measured frames, else 4 (no core
 * of two left with a last odd range), and from 256 on ranges of 32 to 64 frames (every core busy on a long clip).
 */
export function measureChunk(measured: number): number {
  const n = measured <= 64 ? 2 : Math.max(4, 2 * Math.ceil(measured / 128));
  return Math.max(1, Math.ceil(measured / n));
}
/** Memory a measuring worker may take (tfjs wasm heap, face models, two decoded frames and their pyramids). */
const WORKER_BYTES = 600 * 2 ** 20;

/** Test and bench hooks: the number of workers (default: every core memory allows), the range length. */
export interface EvaluateHooks {
  workers?: number;
  chunkFrames?: number;
}

function defaultWorkers(): number {
  return Math.max(1, Math.min(availableParallelism(), Math.floor(freemem() / WORKER_BYTES)));
}

/** Ranges of frames [0, total), one in `every`, `chunk` measured frames each, each primed by the frame before. */
export function planRanges(total: number, every: number, chunk: number): MeasureRange[] {
  const out: MeasureRange[] = [];
  const step = chunk * every;
  for (let s = 0, c = 0; s < total; s += step, c++)
    out.push({ chunk: c, from: Math.max(0, s - every), start: s, end: Math.min(total, s + step), every });
  return out;
}

type Measurers = Awaited<ReturnType<typeof openMeasurers>>;

/** `workers` measuring threads (one: this thread), each with the face models. */
function openMeasurers(setup: MeasureSetup, workers: number, onFrame: () => void, signal: AbortSignal) {
  return openPool<MeasureWorkerApi, MeasureWorkerApi, MeasureWorkerEvents>({
    n: workers,
    entry: new URL('./measure-worker.ts', import.meta.url),
    name: 'quality report worker',
    onFrame,
    local: async () => {
      const m = new Measurer(onFrame, signal);
      await m.init(setup);
      return m;
    },
    remote: (w) => ({
      init: (s) => w.call('init', s),
      describe: (files) => w.call('describe', files),
      identities: (means) => w.call('identities', means),
      measure: (r) => w.call('measure', r),
    }),
    init: (w) => w.call('init', setup),
  });
}

/**
 * The descriptors of `files` (null: no face), in order: the files are cut into one run per thread, so the
 * means summed from them in this order are the same for any number of threads.
 */
function describeOn(apis: Measurers): Describe {
  return async (files) => {
    const per = Math.ceil(files.length / apis.length);
    const parts = await Promise.all(apis.map((a, i) => a.api.describe(files.slice(i * per, (i + 1) * per))));
    return parts.flat();
  };
}

/** Measures every range on the threads; the frames come back in order. */
async function measureAll(apis: Measurers, ranges: MeasureRange[], signal: AbortSignal): Promise<FrameMeasure[]> {
  const out: FrameMeasure[][] = [];
  let next = 0;
  await Promise.all(
    apis.map(async (a) => {
      for (;;) {
        throwIfCancelled(signal);
        const r = ranges[next++];
        if (!r) return;
        out[r.chunk] = await a.api.measure(r);
      }
    }),
  );
  return out.flat();
}

export async function runEvaluate(
  o: EvaluateOptions,
  ctx: StageContext,
  hooks: EvaluateHooks = {},
): Promise<QualityReport> {
  const [origInfo, swapInfo] = await Promise.all([probeVideo(o.original), probeVideo(o.swapped)]);
  if (
    Math.abs(origInfo.frameCount - swapInfo.frameCount) > 1 ||
    origInfo.width !== swapInfo.width ||
    origInfo.height !== swapInfo.height
  ) {
    throw new UserError(
      'mismatch',
      `${o.swapped}: does not match ${basename(o.original)} (${swapInfo.width}x${swapInfo.height}, ${swapInfo.frameCount} frames vs ${origInfo.width}x${origInfo.height}, ${origInfo.frameCount} frames)`,
      o.swapped,
    );
  }
  // The identity images are checked before any model loads (a bad path is a one-line error at once).
  const srcImages = await identityImages(o.sourceFaces);
  const tgtImages = await identityImages(o.targetFaces);
  // `auto` is resolved once, here: the workers get the backend by name.
  const backend = await faceBackend(o.backend);
  const total = Math.min(origInfo.frameCount, swapInfo.frameCount);
  const meter = new RateMeter();
  const perFrame: QualityReport['perFrame'] = [];
  const series = numberLists(
    'simT',
    'simS',
    'margin',
    'sharpRatio',
    'lapO',
    'lapS',
    'detO',
    'detS',
    'poseErr',
    'yaw',
    'pitch',
    'roll',
    'exprErr',
    'mouth',
    'eyes',
    'brows',
    'jitterO',
    'jitterS',
    'flickerO',
    'flickerS',
  );
  let retrieved = 0;
  const origTrack: Point2[][] = [];
  const swapTrack: Point2[][] = [];
  let measured = 0;
  let withBoth = 0;
  let withIdentity = 0;

  // The frames are measured in ranges on N threads (measure.ts); the statistics are summed here, in frame order.
  let done = 0;
  const onFrame = () => {
    done++;
    const at = Math.min(total, done * o.everyN);
    ctx.progress({
      stage: 'evaluate',
      fraction: 0.05 + (0.9 * at) / total,
      title: 'Measuring frames',
      done: at,
      total,
      rate: meter.update(at, Date.now()),
      rateUnit: 'frames/s',
      etaMs: meter.etaMs(total - at),
    });
  };
  const ranges = planRanges(total, o.everyN, hooks.chunkFrames ?? measureChunk(Math.ceil(total / o.everyN)));
  const setup = { original: o.original, swapped: o.swapped, identityEvery: o.identityEvery, backend };
  // The same threads read the identities (their descriptors split between them), then measure the frames.
  const workers = Math.max(1, Math.min(hooks.workers ?? defaultWorkers(), ranges.length));
  const apis = await openMeasurers(setup, workers, onFrame, ctx.signal);
  const results = await runClosing(apis, ctx.signal, async () => {
    ctx.progress({ stage: 'evaluate', fraction: 0, title: 'Reading the identities' });
    const describe = describeOn(apis);
    const srcMean = await identityMean(describe, srcImages, ctx);
    const tgtMean = await identityMean(describe, tgtImages, ctx);
    await Promise.all(apis.map((a) => a.api.identities({ srcMean, tgtMean })));
    return measureAll(apis, ranges, ctx.signal);
  });
  for (const m of results) {
    measured++;
    const row: QualityReport['perFrame'][number] = {
      frame: m.frame,
      similarityToTarget: null,
      poseErrorDeg: null,
      expressionError: null,
      sharpness: null,
    };
    if (m.orig) {
      series.lapO.push(m.orig.lapO);
      series.lapS.push(m.orig.lapS);
      const ratio = m.orig.lapO > 0 ? m.orig.lapS / m.orig.lapO : NaN;
      series.sharpRatio.push(ratio);
      if (Number.isFinite(ratio)) row.sharpness = ratio;
      if (m.orig.det) {
        series.detO.push(m.orig.det[0]);
        series.detS.push(m.orig.det[1]);
      }
    }
    const b = m.both;
    if (b) {
      withBoth++;
      if (b.sim) {
        const [st, ss] = b.sim;
        withIdentity++;
        series.simT.push(st);
        series.simS.push(ss);
        series.margin.push(st - ss);
        if (st > ss) retrieved++;
        row.similarityToTarget = st;
      }
      series.yaw.push(b.dy);
      series.pitch.push(b.dp);
      series.roll.push(b.dr);
      series.poseErr.push((b.dy + b.dp + b.dr) / 3);
      series.mouth.push(b.dm);
      series.eyes.push(b.de);
      series.brows.push(b.db);
      series.exprErr.push((b.dm + b.de + b.db) / 3);
      Object.assign(row, {
        poseErrorDeg: (b.dy + b.dp + b.dr) / 3,
        expressionError: (b.dm + b.de + b.db) / 3,
      });
      if (o.everyN === 1) {
        origTrack.push(b.lmO);
        swapTrack.push(b.lmS);
        if (origTrack.length >= 2) {
          series.jitterO.push(...landmarkJitter(origTrack.slice(-2)));
          series.jitterS.push(...landmarkJitter(swapTrack.slice(-2)));
        }
        if (b.flicker) {
          series.flickerO.push(b.flicker[0]);
          series.flickerS.push(b.flicker[1]);
        }
      }
    } else {
      origTrack.length = 0;
      swapTrack.length = 0;
    }
    perFrame.push(row);
  }
  if (withBoth === 0) throw new UserError('no-faces', `${o.original}: no frame with a face in both videos`, o.original);

  const mean = (v: number[]) => (v.length ? v.reduce((x, y) => x + y, 0) / v.length : 0);
  const body: Omit<QualityReport, 'version' | 'created' | 'verdict'> = {
    inputs: {
      original: o.original,
      swapped: o.swapped,
      sourceFaces: o.sourceFaces,
      targetFaces: o.targetFaces,
      ...(o.model ? { model: o.model } : {}),
    },
    frames: { total, measured, withFaceBoth: withBoth, identityMeasured: withIdentity },
    identity: {
      similarityToTarget: summarise(series.simT),
      similarityToSource: summarise(series.simS),
      retrievalToTarget: withIdentity ? retrieved / withIdentity : 0,
      margin: mean(series.margin),
    },
    sharpness: {
      ratio: median(series.sharpRatio),
      perFrame: summarise(series.sharpRatio),
      laplacianOriginal: median(series.lapO),
      laplacianSwapped: median(series.lapS),
    },
    detection: { swappedScore: summarise(series.detS), originalScore: summarise(series.detO) },
    pose: {
      errorDeg: summarise(series.poseErr),
      yawDeg: summarise(series.yaw),
      pitchDeg: summarise(series.pitch),
      rollDeg: summarise(series.roll),
    },
    expression: {
      error: summarise(series.exprErr),
      mouth: summarise(series.mouth),
      eyes: summarise(series.eyes),
      brows: summarise(series.brows),
    },
    temporal: {
      jitter: mean(series.jitterS) - mean(series.jitterO),
      jitterSwapped: mean(series.jitterS),
      jitterOriginal: mean(series.jitterO),
      flicker: mean(series.flickerS) - mean(series.flickerO),
      flickerSwapped: mean(series.flickerS),
      flickerOriginal: mean(series.flickerO),
    },
    perFrame,
  };
  const report: QualityReport = {
    version: QUALITY_VERSION,
    created: new Date().toISOString(),
    verdict: qualityVerdict(body),
    ...body,
  };
  if (o.model && o.holdoutA && o.holdoutB) {
    ctx.progress({ stage: 'evaluate', fraction: 0.96, title: 'Reconstruction on held-out faces' });
    report.reconstruction = await reconstruction(o.model, o.holdoutA, o.holdoutB, ctx);
  }
  const out = o.report ?? `${o.swapped}.quality.json`;
  await writeJsonAtomic(out, report);
  ctx.log('info', `quality report written to ${out}`);
  ctx.progress({ stage: 'evaluate', fraction: 1, title: 'Done', done: total, total });
  return report;
}

/** One empty list per name: the per-frame values the report summarises. */
function numberLists<K extends string>(...names: K[]): Record<K, number[]> {
  return Object.fromEntries(names.map((k) => [k, []])) as unknown as Record<K, number[]>;
}

function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((x, y) => x - y);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

/** Bumped whenever an identity's mean would come out differently: older cache entries then miss. */
const IDENTITY_CACHE_VERSION = 1;
const identityCacheEntry = z.object({
  version: z.literal(IDENTITY_CACHE_VERSION),
  used: z.int().positive(),
  picked: z.int().positive(),
  mean: z.array(z.number()).min(1),
});

/** The folder of the cached identity means. */
export function identityCacheDir(): string {
  return join(configDir(), 'cache', 'identity');
}

/**
 * Where an identity's mean is kept between runs (a conversion's report reads the same training faces every time):
 * named by the hash of every picked image's absolute path, size and modification time.
 */
async function identityCachePath(files: readonly string[]): Promise<string> {
  const keys = await Promise.all(
    files.map(async (f) => {
      const st = await stat(f);
      return [resolve(f), st.size, st.mtimeMs];
    }),
  );
  const hash = createHash('sha256')
    .update(JSON.stringify([IDENTITY_CACHE_VERSION, keys]))
    .digest('hex');
  return join(identityCacheDir(), `${hash}.json`);
}

/** Descriptors of identity images, in order; null where no face was found. */
export type Describe = (files: string[]) => Promise<Array<number[] | null>>;

/** The images an identity's mean is read from: up to MAX_REFERENCES, evenly spread, of its files and folders. */
export async function identityImages(paths: string[]): Promise<{ paths: string[]; picked: string[] }> {
  const files: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new UserError('not-found', `${p}: not found`, p);
    if (st.isDirectory()) files.push(...(await listImages(p)));
    else if (isImagePath(p)) files.push(p);
    else throw new UserError('bad-media', `${p}: not an image or a folder of images`, p);
  }
  if (files.length === 0) throw new UserError('no-images', `${paths.join(', ') || '(none given)'}: no identity images`);
  const step = Math.max(1, files.length / MAX_REFERENCES);
  const picked = Array.from(
    { length: Math.min(files.length, MAX_REFERENCES) },
    (_, k) => files[Math.floor(k * step)] as string,
  );
  return { paths, picked };
}

/** Mean descriptor of an identity's picked images (identityImages); cached across runs. */
export async function identityMean(
  describe: Describe,
  images: { paths: string[]; picked: string[] },
  ctx: StageContext,
): Promise<number[]> {
  const { paths, picked } = images;
  const names = paths.map((p) => basename(p)).join(', ');
  const cache = await identityCachePath(picked);
  const hit = identityCacheEntry.safeParse(
    await readFile(cache, 'utf8').then(
      (t) => JSON.parse(t) as unknown,
      () => undefined,
    ),
  );
  if (hit.success) {
    ctx.log('info', `identity from ${hit.data.used} of ${hit.data.picked} images (${names}; cached)`);
    return hit.data.mean;
  }
  throwIfCancelled(ctx.signal);
  const ds = (await describe(picked)).filter((d) => d !== null).map((d) => Float32Array.from(d));
  if (ds.length === 0) throw new UserError('no-faces', `${paths.join(', ')}: no face found in the identity images`);
  ctx.log('info', `identity from ${ds.length} of ${picked.length} images (${names})`);
  const mean = meanDescriptor(ds);
  // A cache that cannot be written (read-only config folder, full disk) only costs the next run the time.
  await mkdir(dirname(cache), { recursive: true })
    .then(() =>
      writeJsonAtomic(cache, { version: IDENTITY_CACHE_VERSION, used: ds.length, picked: picked.length, mean }),
    )
    .catch((e: unknown) => ctx.log('warn', `identity cache not written (${(e as Error).message})`));
  return mean;
}

/** SSIM and PSNR of A->A and B->B on held-out aligned faces, at the model's resolution. */
async function reconstruction(
  modelDir: string,
  dirA: string,
  dirB: string,
  ctx: StageContext,
): Promise<NonNullable<QualityReport['reconstruction']>> {
  const { loadFaceModel } = await import('../train/predict');
  const model = await loadFaceModel(modelDir);
  try {
    const side = async (dir: string, direction: 'a-to-a' | 'b-to-b') => {
      const files = (await listImages(dir)).slice(0, 64);
      const S = model.size;
      const ss: number[] = [];
      const ps: number[] = [];
      for (const f of files) {
        throwIfCancelled(ctx.signal);
        const img = await readImage(f);
        const crop = centreCrop(img, model.coverage, S);
        const input = Float32Array.from(crop, (v) => v / 255);
        const out = model.predict(input, 1, direction).face;
        const rec = Uint8Array.from(out, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
        ss.push(ssim(crop, rec, S, S));
        ps.push(psnr(crop, rec));
      }
      return { ssim: summarise(ss).mean, psnr: summarise(ps).mean, n: files.length };
    };
    const a = await side(dirA, 'a-to-a');
    const b = await side(dirB, 'b-to-b');
    return {
      ssim: (a.ssim + b.ssim) / 2,
      psnr: (a.psnr + b.psnr) / 2,
      ssimA: a.ssim,
      ssimB: b.ssim,
      psnrA: a.psnr,
      psnrB: b.psnr,
      faces: { A: a.n, B: b.n },
    };
  } finally {
    model.dispose();
  }
}

/** The centre `coverage` of an aligned face, resized to S x S (nearest-box average; faces are already aligned). */
function centreCrop(img: { width: number; height: number; data: Uint8Array }, coverage: number, S: number): Uint8Array {
  const side = img.width * coverage;
  const off = (img.width - side) / 2;
  const out = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const sx = Math.min(img.width - 1, Math.floor(off + ((x + 0.5) * side) / S));
      const sy = Math.min(img.height - 1, Math.floor(off + ((y + 0.5) * side) / S));
      for (let c = 0; c < 3; c++) out[(y * S + x) * 3 + c] = img.data[(sy * img.width + sx) * 3 + c] as number;
    }
  }
  return out;
}
