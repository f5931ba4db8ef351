/**
 * Runners of the media stages (definitions in src-shared/stages/media.ts): `frames`, `video`, `probe`.
 * Each reports Progress (monotonic fraction ending at 1, frames/s, ETA), stops at the next frame when the
 * signal aborts, and returns a JSON-friendly result for the CLI to print.
 */
import type { z } from 'zod';
import { UserError } from '../../../src-shared/errors';
import { RateMeter } from '../../../src-shared/progress';
import type { framesStage, probeStage, videoStage } from '../../../src-shared/stages/media';
import type { StageContext } from '../stage';
import { throwIfCancelled } from '../stage';
import { decodeFrames } from './decode';
import { createVideoWriter } from './encode';
import { imageFacts, stemOf, writeImageSequence } from './images';
import { sha256File } from './fs';
import { probeVideo, type VideoInfo } from './probe';
import { openSource, videoFrameName } from './source';

/** Progress of a frame loop: throttled to ~5 events/s, fraction monotonic, a final event at exactly 1. */
export class FrameProgress {
  private readonly meter = new RateMeter();
  private lastEmit = 0;
  private fraction = 0;
  constructor(
    private readonly ctx: StageContext,
    private readonly stage: string,
    private readonly title: string,
    private readonly total: number,
  ) {}

  update(done: number, force = false): void {
    const now = Date.now();
    const rate = this.meter.update(done, now);
    if (!force && now - this.lastEmit < 200) return;
    this.lastEmit = now;
    this.fraction = Math.max(this.fraction, this.total > 0 ? Math.min(1, done / this.total) : 0);
    // Never report 1 before the stage is really done (closing the file may still take a while).
    const fraction = done >= this.total ? Math.min(this.fraction, 0.999) : this.fraction;
    const eta = this.meter.etaMs(Math.max(0, this.total - done));
    this.ctx.progress({
      stage: this.stage,
      title: this.title,
      fraction,
      detail: `frame ${done} / ${this.total}`,
      done,
      total: this.total,
      rate,
      rateUnit: 'frames/s',
      ...(eta !== undefined ? { etaMs: eta } : {}),
    });
  }

  finish(done = this.total): void {
    this.fraction = 1;
    this.ctx.progress({
      stage: this.stage,
      title: this.title,
      fraction: 1,
      detail: `frame ${done} / ${this.total}`,
      done,
      total: this.total,
      rate: this.meter.rate(),
      rateUnit: 'frames/s',
      etaMs: 0,
    });
  }
}

type FramesOptions = z.output<(typeof framesStage)['options']>;
type VideoOptions = z.output<(typeof videoStage)['options']>;
type ProbeOptions = z.output<(typeof probeStage)['options']>;

/** What a media stage wrote, the head of `frames`' and `video`'s results: its paths, frame count and frame size. */
interface Written {
  input: string;
  output: string;
  frames: number;
  width: number;
  height: number;
}

function written(o: { input: string; output: string }, frames: number, width: number, height: number): Written {
  return { input: o.input, output: o.output, frames, width, height };
}

export interface FramesResult extends Written {
  format: 'png' | 'jpg';
  /** Frame indices written: start, end (exclusive), step. */
  start: number;
  end: number;
  every: number;
  firstFile: string;
  lastFile: string;
}

/** `frames`: video -> numbered images. */
export async function runFrames(o: FramesOptions, ctx: StageContext): Promise<FramesResult> {
  throwIfCancelled(ctx.signal);
  const info = await probeVideo(o.input, { signal: ctx.signal });
  const start = o.start ?? 0;
  if (start >= info.frameCount)
    throw new UserError(
      'bad-option',
      `--start: ${start} is past the last frame of ${o.input} (${info.frameCount} frames)`,
    );
  const end = Math.min(o.end ?? info.frameCount, info.frameCount);
  if (end <= start) throw new UserError('bad-option', `--end: ${end} must be greater than --start ${start}`);
  if (o.end !== undefined && o.end > info.frameCount)
    ctx.log('warn', `${o.input}: has ${info.frameCount} frames; --end ${o.end} stops at the last one`);
  const every = o.everyN;
  const total = Math.ceil((end - start) / every);
  const progress = new FrameProgress(ctx, 'frames', 'Writing frames', total);
  progress.update(0, true);
  const frames = decodeFrames(o.input, { start, end, every, signal: ctx.signal, onWarning: (m) => ctx.log('warn', m) });
  const named = (async function* () {
    for await (const f of frames) yield { ...f, name: videoFrameName(o.input, f.index) };
  })();
  const files = await writeImageSequence(named, o.output, {
    format: o.format,
    quality: o.quality,
    signal: ctx.signal,
    onFrame: (_file, done) => progress.update(done),
  });
  throwIfCancelled(ctx.signal);
  progress.finish(files.length);
  return {
    ...written(o, files.length, info.width, info.height),
    format: o.format,
    start,
    end,
    every,
    firstFile: files[0] ?? '',
    lastFile: files[files.length - 1] ?? '',
  };
}

export interface VideoResult extends Written {
  fps: string;
  crf: number;
  preset: string;
  pixFmt: 'yuv420p' | 'yuv444p';
  audio: boolean;
  durationSec: number;
  sizeBytes: number;
}

/** `video`: image folder -> H.264 video, optionally with the audio of another file. */
export async function runVideo(o: VideoOptions, ctx: StageContext): Promise<VideoResult> {
  throwIfCancelled(ctx.signal);
  const source = await openSource(o.input);
  if (source.kind !== 'images' || source.info.files[0] === source.path)
    throw new UserError('not-a-file', `${o.input}: expected a folder of images`, o.input);
  let fps = o.fps;
  let audioInfo: VideoInfo | undefined;
  if (o.audioFrom) {
    try {
      audioInfo = await probeVideo(o.audioFrom, { exact: false, signal: ctx.signal });
    } catch (e) {
      // An audio-only file is fine as the audio source; it has no frame rate to offer.
      if (!(e instanceof UserError && e.code === 'bad-media' && /has only audio/.test(e.message))) throw e;
    }
  }
  fps ??= audioInfo?.fpsRational ?? '30';
  // Frames written by `frames` are named <video stem>_<index>: when the first one names the audio source,
  // start the audio at that frame so that a sub-range of the video keeps its own sound.
  let audioOffsetSec = 0;
  const firstStem = stemOf(source.info.files[0] as string);
  const m = /^(.*)_(\d+)$/.exec(firstStem);
  if (o.audioFrom && audioInfo && m && m[1] === stemOf(o.audioFrom) && Number(m[2]) > 0) {
    audioOffsetSec = Number(m[2]) / audioInfo.fps;
    ctx.log('info', `${o.input}: starts at frame ${Number(m[2])} of ${o.audioFrom}; the audio starts there too`);
  } else if (audioInfo && Math.abs(audioInfo.frameCount - source.count) > 1)
    ctx.log(
      'warn',
      `${o.input}: ${source.count} images but ${o.audioFrom} has ${audioInfo.frameCount} frames; the audio is cut at the end of the video`,
    );

  // The first image fixes the size; every other must match it (a video has one frame size).
  const first = await imageFacts(source.info.files[0] as string);
  const { width, height } = first;
  if (source.info.hasAlpha) ctx.log('warn', `${o.input}: the images have an alpha channel; it is dropped in the video`);
  const writer = await createVideoWriter({
    path: o.output,
    width,
    height,
    fps,
    crf: o.crf,
    preset: o.preset,
    ...(o.audioFrom ? { audioFrom: o.audioFrom, audioOffsetSec } : {}),
    oddSize: o.oddSize,
    signal: ctx.signal,
    onWarning: (m) => ctx.log('warn', m),
  });
  const progress = new FrameProgress(ctx, 'video', 'Encoding video', source.count);
  progress.update(0, true);
  try {
    let done = 0;
    for await (const f of source.frames({ signal: ctx.signal })) {
      throwIfCancelled(ctx.signal);
      if (f.width !== width || f.height !== height) {
        const file = source.info.files[f.index] as string;
        throw new UserError(
          'mismatch',
          `${file}: ${f.width}x${f.height}, but the first image (${source.info.files[0]}) is ${width}x${height}; a video needs one frame size`,
          file,
        );
      }
      await writer.write(f.data);
      progress.update(++done);
    }
    await writer.close();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  const out = await probeVideo(o.output, { exact: false });
  progress.finish(writer.framesWritten);
  return {
    ...written(o, writer.framesWritten, writer.outputWidth, writer.outputHeight),
    fps,
    crf: o.crf,
    preset: o.preset,
    pixFmt: writer.pixFmt,
    audio: out.hasAudio,
    durationSec: out.durationSec,
    sizeBytes: out.sizeBytes,
  };
}

export type ProbeResult =
  | ({ kind: 'video'; sha256?: string } & VideoInfo)
  | {
      kind: 'image';
      path: string;
      width: number;
      height: number;
      format: string;
      hasAlpha: boolean;
      orientation: number;
      sha256?: string;
    }
  | {
      kind: 'images';
      path: string;
      count: number;
      firstFile: string;
      lastFile: string;
      width: number;
      height: number;
      hasAlpha: boolean;
    };

/** `probe`: facts about a video, an image or a folder of images. */
export async function runProbe(o: ProbeOptions, ctx: StageContext): Promise<ProbeResult> {
  throwIfCancelled(ctx.signal);
  ctx.progress({ stage: 'probe', title: 'Probing', fraction: 0 });
  const source = await openSource(o.input);
  let result: ProbeResult;
  if (source.kind === 'video') {
    result = { kind: 'video', ...source.info };
    if (o.hash) result.sha256 = await sha256File(o.input, ctx.signal);
  } else if (source.path === source.info.files[0]) {
    const f = await imageFacts(source.path);
    result = { kind: 'image', path: source.path, ...f };
    if (o.hash) result.sha256 = await sha256File(o.input, ctx.signal);
  } else {
    const files = source.info.files;
    result = {
      kind: 'images',
      path: source.path,
      count: files.length,
      firstFile: files[0] ?? '',
      lastFile: files[files.length - 1] ?? '',
      width: source.info.width,
      height: source.info.height,
      hasAlpha: source.info.hasAlpha,
    };
    if (o.hash) ctx.log('info', `${o.input}: --hash applies to files, not folders`);
  }
  ctx.progress({ stage: 'probe', title: 'Probing', fraction: 1 });
  return result;
}
