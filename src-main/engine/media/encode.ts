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
import { basename, dirname, join, resolve } from 'node:path';
import { isUserError, UserError } from '../../../src-shared/errors';
import { X264_PRESETS, type X264Preset } from '../../../src-shared/stages/media';
import { canCopyAudio, containerArgs, containerOf, encodeArgs, fpsToRational, muxArgs, sizePlan } from './encode-args';
import { ffmpegForEncoding } from './ffmpeg';
import { ensureDir } from './fs';
import { parseRate, probeAudio, probeVideo } from './probe';
import { cleanToolMessage, spawnTool } from './proc';

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
  const rate = fpsToRational(opts.fps);
  const container = containerOf(path);
  const signal = opts.signal;
  if (signal?.aborted) throw new UserError('cancelled', 'cancelled by the user');
  const ff = await ffmpegForEncoding();

  const plan = sizePlan(width, height, opts.oddSize);
  const { odd, crop, pixFmt, outputWidth, outputHeight } = plan;
  if (outputWidth < 2 || outputHeight < 2)
    throw new UserError('bad-option', `${path}: a ${width}x${height} frame is too small to encode`, path);
  if (crop)
    opts.onWarning?.(`${path}: odd frame size ${width}x${height} cropped to ${outputWidth}x${outputHeight} for 4:2:0`);
  if (odd && !crop)
    opts.onWarning?.(
      `${path}: odd frame size ${width}x${height} is encoded as H.264 4:4:4 to keep it exact; browsers, QuickTime and phones may not play it (crop the odd row/column for a playable 4:2:0 file)`,
    );

  // Output folder and temporary files beside the target (same filesystem, so the final rename is atomic).
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

  // Audio is added in a second, stream-copy pass once the frame count (hence the duration) is known: a single
  // pass with -shortest ends the video early, because the encoder's look-ahead lets the audio reach its end
  // first.
  let audio: { index: number; codec: string; offset: number; copy: boolean } | undefined;
  try {
    if (opts.audioFrom) {
      const a = await probeVideoOrAudio(opts.audioFrom);
      if (a.audioStreamIndex === undefined) {
        opts.onWarning?.(`${opts.audioFrom}: has no audio track; the output has none`);
      } else {
        const copy = canCopyAudio(container, a.audioCodec ?? '');
        if (!copy)
          opts.onWarning?.(
            `${opts.audioFrom}: ${a.audioCodec} audio cannot go into ${container} as is; re-encoded to AAC`,
          );
        audio = {
          index: a.audioStreamIndex,
          codec: a.audioCodec ?? '',
          offset: a.startTimeSec + (opts.audioOffsetSec ?? 0),
          copy,
        };
      }
    }
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
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
    output: audio ? ['-f', 'mp4', videoTmp] : finalArgs,
  });

  let proc = spawnTool(ff.path, args, { stdio: ['pipe', 'ignore', 'pipe'] });
  const stdin = proc.child.stdin;
  if (!stdin) throw new Error('ffmpeg stdin is not a pipe');
  let stdinError: Error | undefined;
  stdin.on('error', (e) => (stdinError = e));
  let state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  let framesWritten = 0;
  const frameBytes = width * height * 3;
  const cleanup = async () => {
    await rm(tmp, { force: true });
    if (videoTmp !== tmp) await rm(videoTmp, { force: true });
  };

  const failure = (): UserError => {
    const text = proc.stderr.toString();
    const lines = proc.stderr.lines();
    const last = cleanToolMessage(lines[lines.length - 1] ?? '', tmp)
      .replaceAll(videoTmp, path)
      .replaceAll(tmp, path);
    if (/No space left|Permission denied|Read-only file system|Disk quota/i.test(text))
      return new UserError('unwritable', `${path}: cannot write the video (ffmpeg: ${last})`, path);
    if (opts.audioFrom && text.includes(resolve(opts.audioFrom)))
      return new UserError(
        'bad-media',
        `${opts.audioFrom}: cannot read its audio (ffmpeg: ${cleanToolMessage(last, opts.audioFrom)})`,
        opts.audioFrom,
      );
    const why = last || (stdinError ? stdinError.message : 'ffmpeg stopped');
    return new UserError('unwritable', `${path}: encoding failed (ffmpeg: ${why})`, path);
  };

  // Concurrent calls (the signal's listener and the caller's catch) share one clean-up, and all wait for it.
  let aborting: Promise<void> | undefined;
  const abort = (): Promise<void> => {
    if (aborting) return aborting;
    if (state === 'closed') return Promise.resolve();
    state = 'aborted';
    aborting = (async () => {
      stdin.destroy();
      await proc.kill();
      await cleanup();
    })();
    return aborting;
  };
  const onAbort = () => void abort();
  signal?.addEventListener('abort', onAbort, { once: true });

  const waitDrain = () =>
    new Promise<void>((res) => {
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

  const cancelled = () => new UserError('cancelled', 'cancelled by the user');

  return {
    get framesWritten() {
      return framesWritten;
    },
    outputWidth,
    outputHeight,
    pixFmt,
    async write(frame: Buffer) {
      if (state === 'aborted' || signal?.aborted) {
        await abort();
        throw cancelled();
      }
      if (state !== 'open') throw new Error('write after close');
      if (frame.length !== frameBytes)
        throw new Error(
          `frame ${framesWritten}: ${frame.length} bytes, expected ${frameBytes} (${width}x${height} RGB24)`,
        );
      if (proc.done || stdinError || stdin.destroyed) {
        const err = failure();
        await abort();
        throw err;
      }
      const ok = stdin.write(frame);
      framesWritten++;
      if (!ok) await waitDrain();
      if ((state as string) === 'aborted' || signal?.aborted) throw cancelled();
      if (proc.done && proc.child.exitCode !== 0) {
        const err = failure();
        await abort();
        throw err;
      }
    },
    async close() {
      if (state === 'aborted') {
        await aborting;
        throw cancelled();
      }
      if (state !== 'open') return;
      state = 'closing';
      if (framesWritten === 0) {
        await abort();
        signal?.removeEventListener('abort', onAbort);
        throw new UserError('unwritable', `${path}: nothing to encode (no frames were written)`, path);
      }
      try {
        stdin.end();
        let exit = await proc.exited;
        if ((state as string) === 'aborted') throw cancelled();
        if (exit.code === 0 && audio) {
          const mux = muxArgs({
            videoTmp,
            audioPath: resolve(opts.audioFrom as string),
            audio,
            durationSec: framesWritten / parseRate(rate),
            output: finalArgs,
          });
          proc = spawnTool(ff.path, mux);
          exit = await proc.exited;
          if ((state as string) === 'aborted') throw cancelled();
        }
        if (exit.code !== 0) {
          throw exit.error
            ? new UserError('unavailable', `${ff.path}: ffmpeg could not be started (${exit.error.message})`)
            : failure();
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
        state = 'closed';
      } catch (e) {
        await abort();
        throw e;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    abort,
  };
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
