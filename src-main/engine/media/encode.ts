/**
 * Writes RGB24 frames to an H.264 video through an ffmpeg pipe (the command lines are built in encode-args.ts).
 *
 * - Safe replacement: ffmpeg writes a hidden temporary file in the output's folder; `close` renames it over
 *   the target only after ffmpeg succeeded, so a failed or aborted encode never leaves a half file in place of
 *   an existing output.
 * - Colour: frames are treated as sRGB and converted with the BT.709 matrix, limited range, and the stream is
 *   tagged BT.709 so players and our own decoder (which honours the tags) convert back with the same matrix.
 * - Audio (`audioFrom`): the first audio track of another file, aligned so that output frame 0 plays with the
 *   source's first video frame (plus `audioOffsetSec`), cut at the end of the video. Copied when the container
 *   can hold the codec; re-encoded to AAC only when it cannot (PCM, Vorbis, Opus or FLAC into MP4).
 * - `metadata`: container tags (for example `comment` labelling the output as synthetic media).
 *
 * Odd sizes. H.264 in 4:2:0 (yuv420p, the only broadly playable format) cannot represent an odd width or
 * height: chroma is subsampled 2x2 and the SPS crop window moves in 2-pixel steps. Padding by one pixel adds
 * a border and scaling resamples every pixel; both break the rule that an output frame matches its source
 * frame exactly. Policy (`oddSize`):
 * - `exact` (default): keep the exact size and encode 4:4:4 (High 4:4:4 Predictive), with a warning: exact
 *   and lossless in geometry, but browsers, QuickTime and most phones cannot play it. Odd sizes are rare in
 *   practice: no 4:2:0 source can have them, so they come from image folders or 4:4:4/other-codec sources.
 * - `crop`: drop the last column and/or row to reach an even size and encode 4:2:0 (playable everywhere).
 */
import { open, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { isUserError, UserError } from '../../../src-shared/errors';
import { X264_PRESETS, type X264Preset } from '../../../src-shared/stages/media';
import {
  canCopyAudio,
  containerArgs,
  containerOf,
  encodeArgs,
  fpsToRational,
  muxArgs,
  sizePlan,
  type Container,
} from './encode-args';
import { ffmpegForEncoding } from './ffmpeg';
import { ensureDir } from './fs';
import { parseRate, probeAudio, probeVideo } from './probe';
import { cleanToolMessage, spawnTool, type Spawned } from './proc';

export type { X264Preset };

export interface VideoWriterOptions {
  /** Output file: .mp4 (default container), .m4v, .mov or .mkv. */
  path: string;
  /** Size of the frames given to `write` (RGB24). */
  width: number;
  height: number;
  /** Frames per second: a number (29.97 is taken as 30000/1001) or a rational string (`30000/1001`). */
  fps: number | string;
  /** x264 constant rate factor, 0 (lossless) to 51 (default 18: visually lossless). */
  crf?: number;
  /** x264 preset (default `medium`). */
  preset?: X264Preset;
  /** File whose first audio track goes into the output. */
  audioFrom?: string;
  /** Where output frame 0 lies in `audioFrom`'s video timeline, in seconds (default 0: its first frame). */
  audioOffsetSec?: number;
  /** Container tags, for example `{ comment: 'synthetic media made with Faceswap Studio' }`. */
  metadata?: Record<string, string>;
  /** What to do with an odd width or height (see the file comment). Default `exact`. */
  oddSize?: 'exact' | 'crop';
  /**
   * x264's threads (default: x264's own, 1.5 per core). Convert passes `sharedCoresX264Threads()`: its frame
   * workers keep the other cores busy, so more encoder threads only add frames in flight.
   */
  threads?: number;
  signal?: AbortSignal;
  /** Told about choices the user should know of (4:4:4 for odd sizes, audio re-encoded or missing). */
  onWarning?: (message: string) => void;
}

export interface VideoWriter {
  /** Queues one RGB24 frame (width * height * 3 bytes); resolves when ffmpeg can take more (back-pressure). */
  write(frame: Buffer): Promise<void>;
  /** Finishes the file and moves it into place. */
  close(): Promise<void>;
  /** Stops ffmpeg and removes the temporary file; an existing output is left untouched. */
  abort(): Promise<void>;
  readonly framesWritten: number;
  /** Size of the encoded video (differs from the input size only with `oddSize: 'crop'`). */
  readonly outputWidth: number;
  readonly outputHeight: number;
  readonly pixFmt: 'yuv420p' | 'yuv444p';
}

export async function createVideoWriter(opts: VideoWriterOptions): Promise<VideoWriter> {
  const path = resolve(opts.path);
  const { width, height, crf, preset, rate } = checkOptions(opts);
  const container = containerOf(path);
  if (opts.signal?.aborted) throw cancelled();
  const ff = await ffmpegForEncoding();
  const plan = sizePlan(width, height, opts.oddSize);
  checkSize(path, width, height, plan, opts.onWarning);
  const { stem, tmp } = await createTemp(path);
  const audio = await audioPlan(opts, container, tmp);
  const videoTmp = audio ? `${stem}.video.part` : tmp;
  const meta = Object.entries(opts.metadata ?? {});
  for (const [k] of meta)
    if (!/^[A-Za-z0-9_.-]+$/.test(k)) {
      await rm(tmp, { force: true });
      throw new UserError('bad-option', `metadata: '${k}' is not a valid tag name`);
    }
  /** Container flags and tags of the final file. */
  const finalArgs = containerArgs(container, meta, tmp);
  const args = encodeArgs({
    width,
    height,
    rate,
    plan,
    preset,
    crf,
    ...(opts.threads ? { threads: opts.threads } : {}),
    output: audio ? ['-f', 'mp4', videoTmp] : finalArgs,
  });
  return new FfmpegPipe({
    ffmpeg: ff.path,
    args,
    path,
    tmp,
    videoTmp,
    width,
    height,
    rate,
    plan,
    finalArgs,
    audio,
    opts,
  });
}

/**
 * x264's threads while other workers share the cores (convert): one per core, at most 4. x264's own default (1.5
 * per core) only adds frames in flight there: each frame thread holds a frame and its references (~25 MiB at 1080p;
 * 24 threads on a 16-core machine), while the frame workers keep the other cores busy. Measured on 120 frames of
 * 1080x1920 on 2 cores: 2 threads write the same pictures as the default 3, peak 412 MiB vs 439 MiB, 2.9% less CPU.
 * Frames to video, where the encoder is the only work, keeps x264's default.
 */
export function sharedCoresX264Threads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

function cancelled(): UserError {
  return new UserError('cancelled', 'cancelled by the user');
}

/** The frame size, crf, preset and rate of `opts`, checked (the rate as a rational string). */
function checkOptions(opts: VideoWriterOptions) {
  const { width, height } = opts;
  for (const [k, v] of [
    ['width', width],
    ['height', height],
  ] as const)
    if (!Number.isInteger(v) || v < 1 || v > 16384) throw new UserError('bad-option', `${k}: ${v} is not a frame size`);
  const crf = opts.crf ?? 18;
  if (!Number.isFinite(crf) || crf < 0 || crf > 51) throw new UserError('bad-option', `crf: ${crf} is outside 0..51`);
  const preset = opts.preset ?? 'medium';
  if (!X264_PRESETS.includes(preset)) throw new UserError('bad-option', `preset: '${preset}' is not an x264 preset`);
  return { width, height, crf, preset, rate: fpsToRational(opts.fps) };
}

/** Refuses a frame too small to encode; warns of an odd size's crop or 4:4:4 (see the file comment). */
function checkSize(
  path: string,
  width: number,
  height: number,
  { odd, crop, outputWidth, outputHeight }: ReturnType<typeof sizePlan>,
  onWarning: VideoWriterOptions['onWarning'],
): void {
  if (outputWidth < 2 || outputHeight < 2)
    throw new UserError('bad-option', `${path}: a ${width}x${height} frame is too small to encode`, path);
  if (crop)
    onWarning?.(`${path}: odd frame size ${width}x${height} cropped to ${outputWidth}x${outputHeight} for 4:2:0`);
  if (odd && !crop)
    onWarning?.(
      `${path}: odd frame size ${width}x${height} is encoded as H.264 4:4:4 to keep it exact; browsers, QuickTime and phones may not play it (crop the odd row/column for a playable 4:2:0 file)`,
    );
}

/**
 * The hidden temporary file beside `path` (same filesystem, so the final rename is atomic), created empty, and
 * the stem other temporary names share. `path` must not be a folder.
 */
async function createTemp(path: string): Promise<{ stem: string; tmp: string }> {
  const dir = dirname(path);
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new UserError('not-a-file', `${path}: is a folder, not a video file`, path);
  } catch (e) {
    if (isUserError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      throw new UserError('unwritable', `${path}: cannot write here (${code ?? (e as Error).message})`, path);
  }
  const stem = join(dir, `.${basename(path)}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const tmp = `${stem}.part`;
  try {
    await ensureDir(dir);
    await (await open(tmp, 'wx')).close();
  } catch (e) {
    throw new UserError(
      'unwritable',
      `${path}: cannot write here (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      path,
    );
  }
  return { stem, tmp };
}

/** The audio track to add (see muxArgs). */
interface AudioPlan {
  index: number;
  codec: string;
  offset: number;
  copy: boolean;
}

/**
 * The audio of `opts.audioFrom`, if any, with a warning when it has none or must be re-encoded; `tmp` is removed
 * when the probe fails. Audio is added in a second, stream-copy pass once the frame count (hence the duration) is
 * known: a single pass with -shortest ends the video early, because the encoder's look-ahead lets the audio reach
 * its end first.
 */
async function audioPlan(opts: VideoWriterOptions, container: Container, tmp: string): Promise<AudioPlan | undefined> {
  if (!opts.audioFrom) return undefined;
  try {
    const a = await probeVideoOrAudio(opts.audioFrom);
    if (a.audioStreamIndex === undefined) {
      opts.onWarning?.(`${opts.audioFrom}: has no audio track; the output has none`);
      return undefined;
    }
    const copy = canCopyAudio(container, a.audioCodec ?? '');
    if (!copy)
      opts.onWarning?.(`${opts.audioFrom}: ${a.audioCodec} audio cannot go into ${container} as is; re-encoded to AAC`);
    return {
      index: a.audioStreamIndex,
      codec: a.audioCodec ?? '',
      offset: a.startTimeSec + (opts.audioOffsetSec ?? 0),
      copy,
    };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** What the pipe needs from createVideoWriter: the encode command, the files and the frame format. */
interface PipeSetup {
  ffmpeg: string;
  args: string[];
  /** The target, and the temporary file renamed over it when done. */
  path: string;
  tmp: string;
  /** Where the encode pass writes: `tmp`, or a second temporary file when the audio is muxed in afterwards. */
  videoTmp: string;
  width: number;
  height: number;
  rate: string;
  plan: ReturnType<typeof sizePlan>;
  /** The final file's container arguments (for the audio pass). */
  finalArgs: string[];
  audio: AudioPlan | undefined;
  opts: VideoWriterOptions;
}

/**
 * The ffmpeg pipe's state machine: `open` (frames written with back-pressure) -> `closing` (stdin ended, the
 * audio pass, the rename) -> `closed`, or `aborted` from any state but `closed` (ffmpeg killed, temporary files
 * removed). The abort signal aborts too.
 */
class FfmpegPipe implements VideoWriter {
  readonly outputWidth: number;
  readonly outputHeight: number;
  readonly pixFmt: 'yuv420p' | 'yuv444p';
  private proc: Spawned;
  private readonly stdin: Writable;
  private stdinError: Error | undefined;
  private state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  private written = 0;
  private readonly frameBytes: number;
  /** Concurrent aborts (the signal's listener and the caller's catch) share one clean-up, and all wait for it. */
  private aborting: Promise<void> | undefined;
  private readonly onAbort = () => void this.abort();

  constructor(private readonly s: PipeSetup) {
    ({ outputWidth: this.outputWidth, outputHeight: this.outputHeight, pixFmt: this.pixFmt } = s.plan);
    this.frameBytes = s.width * s.height * 3;
    this.proc = spawnTool(s.ffmpeg, s.args, { stdio: ['pipe', 'ignore', 'pipe'] });
    const stdin = this.proc.child.stdin;
    if (!stdin) throw new Error('ffmpeg stdin is not a pipe');
    this.stdin = stdin;
    stdin.on('error', (e) => (this.stdinError = e));
    s.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  get framesWritten(): number {
    return this.written;
  }

  async write(frame: Buffer): Promise<void> {
    const { signal } = this.s.opts;
    if (this.state === 'aborted' || signal?.aborted) {
      await this.abort();
      throw cancelled();
    }
    if (this.state !== 'open') throw new Error('write after close');
    if (frame.length !== this.frameBytes)
      throw new Error(
        `frame ${this.written}: ${frame.length} bytes, expected ${this.frameBytes} (${this.s.width}x${this.s.height} RGB24)`,
      );
    if (this.proc.done || this.stdinError || this.stdin.destroyed) await this.fail();
    const ok = this.stdin.write(frame);
    this.written++;
    if (!ok) await this.waitDrain();
    if (this.aborted() || signal?.aborted) throw cancelled();
    if (this.proc.done && this.proc.child.exitCode !== 0) await this.fail();
  }

  async close(): Promise<void> {
    if (this.state === 'aborted') {
      await this.aborting;
      throw cancelled();
    }
    if (this.state !== 'open') return;
    this.state = 'closing';
    const { signal } = this.s.opts;
    if (this.written === 0) {
      await this.abort();
      signal?.removeEventListener('abort', this.onAbort);
      throw new UserError('unwritable', `${this.s.path}: nothing to encode (no frames were written)`, this.s.path);
    }
    try {
      await this.finish();
      this.state = 'closed';
    } catch (e) {
      await this.abort();
      throw e;
    } finally {
      signal?.removeEventListener('abort', this.onAbort);
    }
  }

  readonly abort = (): Promise<void> => {
    if (this.aborting) return this.aborting;
    if (this.state === 'closed') return Promise.resolve();
    this.state = 'aborted';
    this.aborting = (async () => {
      this.stdin.destroy();
      await this.proc.kill();
      await rm(this.s.tmp, { force: true });
      if (this.s.videoTmp !== this.s.tmp) await rm(this.s.videoTmp, { force: true });
    })();
    return this.aborting;
  };

  /** Read after an await: `state` may have changed meanwhile. */
  private aborted(): boolean {
    return this.state === 'aborted';
  }

  /** Ends the encode, runs the audio pass if any, and moves the file into place. */
  private async finish(): Promise<void> {
    const { ffmpeg, path, tmp, videoTmp, audio } = this.s;
    this.stdin.end();
    let exit = await this.proc.exited;
    if (this.aborted()) throw cancelled();
    if (exit.code === 0 && audio) {
      const mux = muxArgs({
        videoTmp,
        audioPath: resolve(this.s.opts.audioFrom as string),
        audio,
        durationSec: this.written / parseRate(this.s.rate),
        output: this.s.finalArgs,
      });
      this.proc = spawnTool(ffmpeg, mux);
      exit = await this.proc.exited;
      if (this.aborted()) throw cancelled();
    }
    if (exit.code !== 0) {
      throw exit.error
        ? new UserError('unavailable', `${ffmpeg}: ffmpeg could not be started (${exit.error.message})`)
        : this.failure();
    }
    try {
      await rename(tmp, path);
    } catch (e) {
      throw new UserError(
        'unwritable',
        `${path}: cannot replace the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        path,
      );
    }
    if (videoTmp !== tmp) await rm(videoTmp, { force: true });
  }

  /** Aborts and throws ffmpeg's failure (read before the abort kills it). */
  private async fail(): Promise<never> {
    const err = this.failure();
    await this.abort();
    throw err;
  }

  /** ffmpeg's failure as a user error: the last line of its stderr, with the temporary names as the target's. */
  private failure(): UserError {
    const { path, tmp, videoTmp } = this.s;
    const { audioFrom } = this.s.opts;
    const text = this.proc.stderr.toString();
    const lines = this.proc.stderr.lines();
    const last = cleanToolMessage(lines[lines.length - 1] ?? '', tmp)
      .replaceAll(videoTmp, path)
      .replaceAll(tmp, path);
    if (/No space left|Permission denied|Read-only file system|Disk quota/i.test(text))
      return new UserError('unwritable', `${path}: cannot write the video (ffmpeg: ${last})`, path);
    if (audioFrom && text.includes(resolve(audioFrom)))
      return new UserError(
        'bad-media',
        `${audioFrom}: cannot read its audio (ffmpeg: ${cleanToolMessage(last, audioFrom)})`,
        audioFrom,
      );
    const why = last || (this.stdinError ? this.stdinError.message : 'ffmpeg stopped');
    return new UserError('unwritable', `${path}: encoding failed (ffmpeg: ${why})`, path);
  }

  /** Resolves when stdin can take more, or is closed or failed. */
  private waitDrain(): Promise<void> {
    const stdin = this.stdin;
    return new Promise<void>((res) => {
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        stdin.off('error', done);
        res();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
      stdin.on('error', done);
    });
  }
}

/** Audio facts of a file: a video (probeVideo) or, failing that, an audio-only file. */
async function probeVideoOrAudio(
  path: string,
): Promise<{ audioStreamIndex?: number; audioCodec?: string; startTimeSec: number }> {
  try {
    const info = await probeVideo(path, { exact: false });
    return {
      startTimeSec: info.startTimeSec,
      ...(info.audioStreamIndex !== undefined
        ? { audioStreamIndex: info.audioStreamIndex, audioCodec: info.audioCodec ?? '' }
        : {}),
    };
  } catch (e) {
    // An audio-only file (wav, m4a, mp3) is a fine audio source: probeVideo rejects it for lack of video.
    if (!(e instanceof UserError && e.code === 'bad-media' && /has only audio/.test(e.message))) throw e;
    const a = await probeAudio(path);
    return { startTimeSec: 0, audioStreamIndex: a.audioStreamIndex, audioCodec: a.audioCodec };
  }
}
