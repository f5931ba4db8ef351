/**
 * The convert stage runner: input (video, photo, folder) -> faces (alignments, curated by --faces-dir, or
 * detected on the fly) -> model swap -> blend -> output (MP4 with the input's audio, or PNG folder), streamed:
 * ffmpeg decodes in its own process, frames are converted while the next are decoded and the previous ones are
 * encoded by another ffmpeg process, with a small window of frames in flight and no temporary frame files.
 * The output is labelled as synthetic media by default (container tags + `<output>.provenance.json`).
 */
import { rm, stat } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { isUserError, UserError } from '../../../src-shared/errors';
import type { TfBackendChoice } from '../../../src-shared/backends';
import type { Alignments } from '../../../src-shared/formats/alignments';
import type { QualityReport } from '../../../src-shared/formats/quality';
import { RateMeter } from '../../../src-shared/progress';
import { inRanges, maskIncludes, parseFrameRanges, type ConvertOptions } from '../../../src-shared/stages/convert';
import {
  openKeyedSource as openExtractSource,
  type KeyedFrame as SourceFrame,
  type KeyedSource as ExtractSource,
} from '../media/source';
import { sha256File } from '../media/fs';
import { probeVideo } from '../media/probe';
import { throwIfCancelled, type StageContext } from '../stage';
import { BlendScratch, type BlendOptions } from './blend';
import {
  checkAlignmentsSource,
  createFaceProvider,
  createIdentityFilter,
  defaultAlignmentsPath,
  readAlignmentsFile,
} from './faces';
import { convertJob } from './frame';
import { defaultFrameWorkers, FramePool } from './frame-pool';
import { addSteps, timed, timedIterator, type StepTimes } from '../util/step-times';
import {
  backendOf,
  checkModelFolder,
  loadSwapper,
  modelForwardFlops,
  swapDirection,
  type LoadedSwapper,
} from './model-swapper';
import {
  checkOutputWritable,
  commitOutput,
  convertTempPath,
  createWatermark,
  folderSink,
  labelMetadata,
  sweepConvertLeftovers,
  videoSink,
  VIDEO_OUT,
  type FrameSink,
} from './output';
import { provenancePath, writeProvenance } from './provenance';
import { ContentCredentials } from './content-credentials';
import { appName, appVersion } from '../app-info';
import { faultPoint } from '../util/faults';
import type { FaceSwapper } from './swapper';

export interface ConvertResult {
  output: string;
  /** Frames written. */
  frames: number;
  /** Frames whose faces were swapped (inside the ranges). */
  swappedFrames: number;
  faces: number;
  /** Faces left alone because their aligned PNG was deleted from --faces-dir. */
  skippedFaces: number;
  /** Faces left alone by --filter / --nfilter. */
  filteredFaces: number;
  /** Frames the alignments did not list, detected on the fly. */
  detectedFrames: number;
  /** Conversion speed over the whole run, frames/s. */
  fps: number;
  provenance?: string;
  /** Subject of the certificate that signed the output's C2PA Content Credentials, when they were embedded. */
  contentCredentials?: string;
  /** `<output>.quality.json`, when written. */
  quality?: string;
  /** The quality report's one-line verdict ("reads as B, sharp", "still blurry: train longer", ...). */
  verdict?: string;
  /** Threads that converted frames (frame-pool.ts). */
  workers: number;
  /** Milliseconds per step over every frame and worker: decode, faces, model, blend, watermark, encode, quality. */
  steps: StepTimes;
}

export function blendOptionsOf(o: ConvertOptions): BlendOptions {
  return {
    mask: o.mask,
    blurSize: o.blurSize,
    erosion: o.erosion,
    color: o.color,
    seamless: o.seamless,
    sharpen: o.sharpen,
    sharpenAmount: o.sharpenAmount,
  };
}

/**
 * Test and bench hooks: a swapper to use instead of loading `options.model` (converts in this thread), the
 * number of frame workers (default: every core memory allows).
 */
export interface ConvertHooks {
  swapper?: FaceSwapper;
  workers?: number;
}

export async function runConvert(
  options: ConvertOptions,
  ctx: StageContext,
  hooks: ConvertHooks = {},
): Promise<ConvertResult> {
  const { signal } = ctx;
  const t0 = performance.now();
  const input = resolve(options.input),
    output = resolve(options.output);
  const videoOut = VIDEO_OUT.test(output);

  // Everything that can be wrong is checked before the model loads and before the output is touched.
  const source = await openExtractSource(input, signal);
  if (videoOut && source.kind !== 'video')
    throw new UserError(
      'bad-option',
      `${options.output}: a video output needs a video input (${options.input} is ${source.kind === 'image' ? 'a photo' : 'a folder of photos'}); give a folder`,
    );
  await checkOutputWritable(output, input);
  const swept = await sweepConvertLeftovers(output);
  if (swept.length)
    ctx.log('info', `${output}: tidied ${swept.length} leftover(s) of an interrupted conversion (${swept.join(', ')})`);
  if (!hooks.swapper) await checkModelFolder(resolve(options.model));
  const ranges = parseFrameRanges(options.frameRanges);
  if (options.discardFrames && ranges.length === 0)
    throw new UserError('bad-option', '--discard-frames: needs --frame-ranges');
  if (ranges.length && source.kind === 'video' && ranges.every((r) => r[0] >= source.total)) {
    throw new UserError('bad-option', `--frame-ranges: every range starts after the last frame (${source.total - 1})`);
  }

  const inputSha = await source.sha256();
  let alignments: Alignments | null = null;
  const alPath = options.alignments
    ? resolve(options.alignments)
    : defaultAlignmentsPath(input, source.kind === 'folder');
  if (options.alignments || (await exists(alPath))) {
    alignments = await readAlignmentsFile(alPath);
    checkAlignmentsSource(alignments, alPath, {
      path: input,
      sha256: inputSha,
      ...(source.kind === 'video' ? { frameCount: source.total } : {}),
    });
  } else {
    ctx.log('info', `${alPath}: no alignments file; faces are detected on every frame`);
  }
  ctx.progress({ stage: 'convert', fraction: 0, title: 'Loading the model' });
  const blend = blendOptionsOf(options);
  const wantWorkers = hooks.swapper
    ? 1
    : Math.max(1, hooks.workers ?? defaultFrameWorkers(await modelForwardFlops(resolve(options.model))));
  // One worker converts in this thread; more each load the model in a worker thread (frame-pool.ts).
  const pool =
    wantWorkers > 1
      ? await FramePool.start(wantWorkers, {
          model: resolve(options.model),
          direction: swapDirection(options.swapModel),
          ...(options.backend ? { backend: options.backend } : {}),
          alignments,
          kind: source.kind,
          ...(options.facesDir ? { facesDir: resolve(options.facesDir) } : {}),
          filter: [...options.filter],
          nfilter: [...options.nfilter],
          filterThreshold: options.filterThreshold,
          mask: options.mask,
          blend,
        })
      : null;
  const swapper: FaceSwapper | LoadedSwapper =
    pool?.swapper ??
    hooks.swapper ??
    (await loadSwapper(resolve(options.model), {
      direction: swapDirection(options.swapModel),
      backend: options.backend,
    }));
  const ownSwapper = !hooks.swapper;
  if (ownSwapper && (swapper as LoadedSwapper).from === 'backup') {
    ctx.log(
      'warn',
      `${options.model}: the last save does not load (damaged or cut short); using the backup save of iteration ${(swapper as LoadedSwapper).state.iteration}`,
    );
  }
  if (maskIncludes(options.mask, 'predicted') && !swapper.hasMask) {
    if (ownSwapper) swapper.dispose();
    await pool?.close();
    throw new UserError(
      'bad-option',
      `--mask ${options.mask}: the ${swapper.trainer} model of ${options.model} does not learn a mask (use facehull, or a masked trainer)`,
    );
  }
  const identity =
    !pool && (options.filter.length || options.nfilter.length)
      ? await createIdentityFilter({
          filter: options.filter,
          nfilter: options.nfilter,
          threshold: options.filterThreshold,
          ...backendOf(swapper),
        })
      : undefined;
  const faces = await createFaceProvider({
    ...backendOf(swapper),
    alignments,
    kind: source.kind,
    ...(options.facesDir ? { facesDir: resolve(options.facesDir) } : {}),
    ...(identity ? { identity } : {}),
    mask: options.mask,
  });
  const date = new Date().toISOString();
  const modelState =
    'state' in swapper
      ? (
          swapper as {
            state: {
              trainer: string;
              iteration: number;
              options: Record<string, unknown>;
              files: { weightsSha256: string };
            };
          }
        ).state
      : undefined;

  // Frames to write, in order.
  const total = source.total;
  const wanted = options.discardFrames ? countInRanges(ranges, total) : total;
  let sink: FrameSink | null = null;
  const watermarks = new Map<string, Promise<(f: Buffer) => void>>();
  const result: ConvertResult = {
    output,
    frames: 0,
    swappedFrames: 0,
    faces: 0,
    skippedFaces: 0,
    filteredFaces: 0,
    detectedFrames: 0,
    fps: 0,
    workers: pool ? pool.size : 1,
    steps: {},
  };
  const steps = result.steps;
  const meter = new RateMeter();
  let lastReport = 0;

  // Labelled outputs also carry C2PA Content Credentials (content-credentials.ts): each image as it is written,
  // a video once it is complete.
  const credentials = options.label ? await ContentCredentials.open() : undefined;
  const credentialText = {
    title: basename(output),
    description: `Faces replaced by ${appName} ${appVersion} (face swap): synthetic media`,
  };
  let credentialsSkipped: string | undefined;

  const openSink = async (f: SourceFrame): Promise<FrameSink> => {
    if (!videoOut) {
      if (!credentials) return folderSink(output, f.image.width, f.image.height);
      return folderSink(output, f.image.width, f.image.height, (png) =>
        credentials.sign(png, 'image/png', credentialText),
      );
    }
    const info = await probeVideo(input, { signal });
    let audioOffsetSec = 0;
    let audio = info.hasAudio;
    if (options.discardFrames) {
      if (ranges.length === 1) audioOffsetSec = (ranges[0]![0] - 0) / info.fps;
      else if (audio) {
        audio = false;
        ctx.log(
          'warn',
          `${options.input}: audio dropped: --discard-frames with several ranges cuts the video but not the sound`,
        );
      }
    }
    return videoSink({
      path: output,
      width: f.image.width,
      height: f.image.height,
      fps: info.fpsRational,
      crf: options.crf,
      preset: options.preset,
      signal,
      onWarning: (m) => ctx.log('warn', m),
      ...(audio ? { audioFrom: input, audioOffsetSec } : {}),
      ...(options.label ? { metadata: labelMetadata({ date, model: options.model, trainer: swapper.trainer }) } : {}),
    });
  };

  // The blend's working planes, reused frame after frame when this thread converts (no pool).
  const scratch = new BlendScratch();
  const convertOne = async (f: SourceFrame): Promise<Buffer> => {
    throwIfCancelled(signal);
    const image = f.image;
    let data: Buffer;
    if (inRanges(ranges, f.index)) {
      // The decoded frame is handed over (moved to a worker, or blended in place here): only `r.data` is read after.
      const job = {
        key: f.key,
        stem: f.stem,
        index: f.index,
        width: image.width,
        height: image.height,
        data: image.data,
      };
      const r = pool ? await pool.convert(job) : await convertJob(job, faces, swapper, blend, scratch);
      if (r.detected) result.detectedFrames++;
      result.skippedFaces += r.skipped;
      result.filteredFaces += r.filtered;
      addSteps(steps, r.steps);
      data = Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
      result.swappedFrames++;
      result.faces += r.faces;
    } else {
      data = Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    }
    if (options.watermark) {
      const k = `${image.width}x${image.height}`;
      let w = watermarks.get(k);
      if (!w) watermarks.set(k, (w = createWatermark(image.width, image.height)));
      const mark = await w;
      await timed(steps, 'watermark', () => mark(data));
    }
    return data;
  };

  let pending: string | undefined;
  let committing = false;
  const frameName = (f: SourceFrame) =>
    source.kind === 'video'
      ? `${f.stem}_${String(f.index).padStart(6, '0')}.png`
      : `${basename(f.key, extname(f.key))}.png`;
  // Frames in flight (decoded, converting, waiting to be encoded in order): a fixed depth, so memory stays flat.
  const WINDOW = pool ? 2 * pool.size : 3;
  const inflight: Array<{ f: SourceFrame; p: Promise<Buffer> }> = [];
  const flush = async () => {
    const job = inflight.shift()!;
    const data = await job.p;
    sink ??= await openSink(job.f);
    const out = sink;
    await timed(steps, 'encode', () => out.write(data, frameName(job.f)));
    result.frames++;
    const now = performance.now();
    const rate = meter.update(result.frames, now);
    if (now - lastReport > 250 || result.frames === wanted) {
      lastReport = now;
      const eta = meter.etaMs(wanted - result.frames);
      ctx.progress({
        stage: 'convert',
        fraction: Math.min(0.99, result.frames / Math.max(1, wanted)),
        title: 'Converting',
        detail: `frame ${result.frames} / ${wanted}`,
        done: result.frames,
        total: wanted,
        rate,
        rateUnit: 'frames/s',
        ...(eta !== undefined ? { etaMs: eta } : {}),
        metrics: { faces: result.faces, skippedFaces: result.skippedFaces, detectedFrames: result.detectedFrames },
      });
    }
  };

  try {
    for await (const f of timedIterator(
      steps,
      'decode',
      framesToWrite(source, ranges, options.discardFrames, signal),
    )) {
      const p = convertOne(f);
      p.catch(() => {}); // awaited in order by flush; avoid an unhandled rejection while earlier frames finish
      inflight.push({ f, p });
      if (inflight.length >= WINDOW) await flush();
    }
    while (inflight.length) await flush();
    if (!sink)
      throw new UserError(
        'no-images',
        `${options.input}: no frame to write${ranges.length ? ' inside --frame-ranges' : ''}`,
        options.input,
      );
    // Finished, signed and described under temporary names, then committed (output.ts commitOutput): a kill at
    // any step never leaves a provenance file beside an output it does not describe.
    const finished = await (sink as FrameSink).finish();
    if (credentials && videoOut) {
      ctx.progress({
        stage: 'convert',
        fraction: 0.99,
        title: 'Signing the Content Credentials',
        done: result.frames,
        total: wanted,
      });
      const signed = await credentials.signFile(finished, credentialText);
      if (!signed.signed) {
        credentialsSkipped = signed.reason;
        ctx.log(
          'warn',
          `${output}: no Content Credentials: ${signed.reason} (the container label and the provenance file still say it is synthetic)`,
        );
      }
      faultPoint('convert:signed');
    }
    result.fps = result.frames / ((performance.now() - t0) / 1000);
    if (credentials && !credentialsSkipped) result.contentCredentials = credentials.signedBy;
    if (options.label) {
      pending = videoOut ? convertTempPath(output, 'provenance.json') : provenancePath(finished, true);
      await writeProvenance({
        output,
        file: finished,
        to: pending,
        isFolder: !videoOut,
        date,
        options,
        inputs: {
          input: { path: input, sha256: inputSha },
          ...(alignments ? { alignments: { path: alPath, sha256: await sha256File(alPath) } } : {}),
          model: {
            path: resolve(options.model),
            trainer: swapper.trainer,
            ...(modelState ? { iteration: modelState.iteration, weightsSha256: modelState.files.weightsSha256 } : {}),
          },
        },
        frames: result.frames,
        contentCredentials: credentialsSkipped
          ? { embedded: false, reason: credentialsSkipped }
          : { embedded: true, signedBy: credentials?.signedBy ?? '' },
      });
      faultPoint('convert:provenance-written');
      result.provenance = provenancePath(output, !videoOut);
    }
    committing = true;
    await commitOutput({ output, finished, isFolder: !videoOut, ...(videoOut && pending ? { pending } : {}) });
  } catch (e) {
    await Promise.allSettled(inflight.map((j) => j.p));
    // A sidecar not yet committed goes with its output (one the commit got to is the sweep's to finish).
    if (pending && videoOut && !committing) await rm(pending, { force: true }).catch(() => {});
    if (sink) await (sink as FrameSink).abort().catch(() => {});
    throw e;
  } finally {
    faces.dispose();
    if (ownSwapper && !pool) swapper.dispose();
    await pool?.close();
  }

  if (options.qualityReport && videoOut && !options.discardFrames && modelState) {
    const tq = performance.now();
    const q = await writeQualityReport({
      input,
      output,
      modelOptions: modelState.options,
      swapModel: options.swapModel,
      backend: options.backend,
      ctx,
    });
    steps.quality = performance.now() - tq;
    if (q) Object.assign(result, { quality: q.path, verdict: q.verdict });
  }
  ctx.progress({
    stage: 'convert',
    fraction: 1,
    title: 'Done',
    done: result.frames,
    total: wanted,
    rate: result.fps,
    rateUnit: 'frames/s',
    metrics: { faces: result.faces, skippedFaces: result.skippedFaces, detectedFrames: result.detectedFrames },
  });
  return result;
}

/**
 * `<output>.quality.json` beside a converted video: the evaluate stage on the output against its input, with the
 * model's training faces as the identities (A is replaced by B, or the reverse with --swap-model).
 */
async function writeQualityReport(o: {
  input: string;
  output: string;
  modelOptions: Record<string, unknown>;
  swapModel: boolean;
  /** The conversion's `--backend`: the report's face models run there too. */
  backend: TfBackendChoice;
  ctx: StageContext;
}): Promise<{ path: string; verdict: string } | undefined> {
  const a = o.modelOptions.inputA;
  const b = o.modelOptions.inputB;
  if (typeof a !== 'string' || typeof b !== 'string' || !(await exists(a)) || !(await exists(b))) {
    o.ctx.log('warn', 'no quality report: the model does not name its training faces, or they are gone');
    return undefined;
  }
  // Through the registry: convert sits below evaluate in the engine's layers (eslint.config.js).
  const { runStage } = await import('../registry');
  const report = `${o.output}.quality.json`;
  // Its progress is a sub-step of the conversion's last percent, with its own fraction as the job's `phase`.
  const q = (await runStage(
    'evaluate',
    {
      original: o.input,
      swapped: o.output,
      sourceFaces: [o.swapModel ? b : a],
      targetFaces: [o.swapModel ? a : b],
      everyN: 1,
      report,
      backend: o.backend,
    },
    {
      signal: o.ctx.signal,
      log: o.ctx.log,
      progress: (p) =>
        o.ctx.progress({
          ...p,
          stage: 'convert',
          fraction: 0.99,
          title: `Quality report: ${p.title}`,
          phase: { title: 'Quality report', fraction: p.fraction },
        }),
    },
  ).catch((e: unknown) => {
    // The converted video is written; a report that finds no swapped face (a model trained for a few minutes
    // draws none the detector knows) is a warning about the model, not a failed conversion.
    if (!isUserError(e) || e.code !== 'no-faces') throw e;
    o.ctx.log('warn', `no quality report: ${e.message} (the swapped faces were not found: train the model longer)`);
    return undefined;
  })) as QualityReport | undefined;
  return q && { path: report, verdict: q.verdict };
}

function countInRanges(ranges: ReadonlyArray<readonly [number, number]>, total: number): number {
  return ranges.reduce((n, r) => n + Math.max(0, Math.min(r[1], total - 1) - r[0] + 1), 0);
}

/** All frames, or (with --discard-frames) only those inside the ranges, decoding each range from its start. */
async function* framesToWrite(
  source: ExtractSource,
  ranges: Array<[number, number]>,
  discard: boolean,
  signal: AbortSignal,
): AsyncGenerator<SourceFrame> {
  if (!discard || source.kind !== 'video') {
    for await (const f of source.frames({ start: 0, every: 1, signal })) {
      if (discard && !inRanges(ranges, f.index)) continue;
      yield f;
    }
    return;
  }
  for (const [a, b] of ranges) {
    if (a >= source.total) break;
    for await (const f of source.frames({ start: a, every: 1, signal })) {
      if (f.index > b) break;
      yield f;
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
