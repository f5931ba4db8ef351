/**
 * Frames of a video as packed RGB24 buffers, streamed from an ffmpeg pipe (no temp files):
 * - frame-accurate start at any index: input seek to halfway between the timestamps of frames start-1 and
 *   start (from the probe's packet scan), so ffmpeg's accurate seek drops everything before frame `start`;
 *   frames are then passed through one for one (`-fps_mode passthrough`: no duplicated or dropped frames);
 * - rotation applied (ffmpeg autorotate), so a phone video comes out in its displayed orientation;
 * - exact sizes, odd ones included: the last filter scales to the displayed (or requested) size, no padding;
 * - back-pressure: ffmpeg blocks on a full pipe while the consumer works, so memory stays at a few frames;
 * - the process is killed when the consumer breaks out early, on abort, and on error.
 */
import { resolve } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { resolveFfmpeg } from './ffmpeg';
import { probeVideoDetailed, type VideoInfo } from './probe';
import { cleanToolMessage } from './proc';
import { spawnTool } from './proc';

export interface Frame {
  /** Index of the frame in the video (0-based, presentation order). */
  index: number;
  /** Presentation time in seconds on the file's clock. */
  timeSec: number;
  width: number;
  height: number;
  /** Packed RGB24, width * height * 3 bytes, rows top to bottom. */
  data: Buffer;
}

export interface DecodeOptions {
  /** First frame index (default 0). */
  start?: number;
  /** End frame index, exclusive (default: the frame count). */
  end?: number;
  /** Keep one frame in `every` (default 1: all), counted from `start`. */
  every?: number;
  signal?: AbortSignal;
  /** Scaled output size. With only one of them, the other keeps the aspect ratio (rounded, odd allowed). */
  width?: number;
  height?: number;
  /** Told about problems that do not stop decoding (for example frames listed in the index but not decoded). */
  onWarning?: (message: string) => void;
  /**
   * Every frame is decoded into the same buffer: a frame's `data` is valid only until the next frame is asked for.
   * For a consumer that is done with each frame before the next (no allocation of a frame-sized buffer per frame,
   * which the garbage collector otherwise answers with a full collection every few frames).
   */
  recycle?: boolean;
  /**
   * Decoder threads (default: ffmpeg's choice, one per core). 1 for a consumer that runs several decoders at once
   * on every core anyway: no thread pool and its frame buffers per decoder.
   */
  threads?: number;
}

function checkInt(name: string, v: number | undefined, min: number): void {
  if (v !== undefined && (!Number.isInteger(v) || v < min))
    throw new UserError('bad-option', `${name}: expected an integer >= ${min}, got ${v}`);
}

/** Output size for a decode: displayed size, or the requested scale (aspect kept when one side is given). */
export function outputSize(
  info: Pick<VideoInfo, 'width' | 'height'>,
  width?: number,
  height?: number,
): { width: number; height: number } {
  if (width && height) return { width, height };
  if (width) return { width, height: Math.max(1, Math.round((info.height * width) / info.width)) };
  if (height) return { width: Math.max(1, Math.round((info.width * height) / info.height)), height };
  return { width: info.width, height: info.height };
}

/** The stderr line that best says what went wrong: the last one that is not muxer noise. */
function mainError(lines: string[]): string {
  const noise = /non monoton|Last message repeated|^\s*$/i;
  for (let i = lines.length - 1; i >= 0; i--) if (!noise.test(lines[i] as string)) return lines[i] as string;
  return lines[lines.length - 1] ?? '';
}

const TRUNCATION = /partial file|premature|truncat|moov atom not found/i;

/**
 * Decodes frames [start, end) of a video, one in `every`, as RGB24. Throws UserError for a missing, unreadable
 * or cut-short file (naming it) and 'cancelled' on abort. Breaking out of the loop stops ffmpeg.
 */
export async function* decodeFrames(path: string, opts: DecodeOptions = {}): AsyncGenerator<Frame, void, undefined> {
  checkInt('start', opts.start, 0);
  checkInt('end', opts.end, 0);
  checkInt('every', opts.every, 1);
  checkInt('width', opts.width, 1);
  checkInt('height', opts.height, 1);
  checkInt('threads', opts.threads, 1);
  const signal = opts.signal;
  if (signal?.aborted) throw new UserError('cancelled', 'cancelled by the user');

  const { info, frameTimes } = await probeVideoDetailed(path, signal ? { signal } : {});
  const ff = await resolveFfmpeg();
  const start = opts.start ?? 0;
  const end = Math.min(opts.end ?? info.frameCount, info.frameCount);
  const every = opts.every ?? 1;
  if (start >= end) return;
  const wanted = Math.ceil((end - start) / every);
  const { width, height } = outputSize(info, opts.width, opts.height);
  const frameBytes = width * height * 3;

  const timeOf = (i: number): number => frameTimes?.[i] ?? info.startTimeSec + i / info.fps;
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error'];
  if (start > 0) {
    const seek = frameTimes
      ? ((frameTimes[start - 1] ?? 0) + (frameTimes[start] ?? 0)) / 2
      : timeOf(start) - 0.5 / info.fps;
    args.push('-ss', seek.toFixed(6));
  }
  if (opts.threads) args.push('-threads', String(opts.threads));
  // Absolute, so that no file name can read as an ffmpeg protocol (`x:y.mp4`).
  args.push('-i', resolve(path), '-map', `0:${info.videoStreamIndex}`, '-an', '-sn', '-dn');
  const filters: string[] = [];
  if (every > 1) filters.push(`select=not(mod(n\\,${every}))`);
  const downscale = width * height < info.width * info.height;
  filters.push(`scale=${width}:${height}:flags=${downscale ? 'area' : 'bicubic'}`, 'format=rgb24');
  args.push('-vf', filters.join(','), ff.fpsModeFlag, 'passthrough', '-frames:v', String(wanted));
  args.push('-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1');

  const proc = spawnTool(ff.path, args);
  let aborted = false;
  const onAbort = () => {
    aborted = true;
    void proc.kill();
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  let produced = 0;
  let frame = Buffer.allocUnsafe(frameBytes);
  let filled = 0;
  const stdout = proc.child.stdout;
  if (!stdout) throw new Error('ffmpeg stdout is not a pipe');
  try {
    for await (const chunk of stdout as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - off);
        chunk.copy(frame, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === frameBytes) {
          if (aborted) throw new UserError('cancelled', 'cancelled by the user');
          const index = start + produced * every;
          produced++;
          const out = frame;
          if (!opts.recycle) frame = Buffer.allocUnsafe(frameBytes);
          filled = 0;
          yield { index, timeSec: timeOf(index), width, height, data: out };
        }
      }
    }
    const exit = await proc.exited;
    if (aborted || signal?.aborted) throw new UserError('cancelled', 'cancelled by the user');
    if (exit.error)
      throw new UserError('unavailable', `${ff.path}: ffmpeg could not be started (${exit.error.message})`);
    const errLines = proc.stderr.lines();
    const last = cleanToolMessage(mainError(errLines), path);
    const at = start + produced * every;
    if (exit.code !== 0) {
      const code = TRUNCATION.test(proc.stderr.toString()) ? 'truncated' : 'bad-media';
      throw new UserError(
        code,
        `${path}: decoding failed at frame ${at} (ffmpeg: ${last || `exit code ${exit.code}`})`,
        path,
      );
    }
    if (produced < wanted) {
      if (TRUNCATION.test(proc.stderr.toString()))
        throw new UserError(
          'truncated',
          `${path}: truncated video (the data stops at frame ${at} of ${info.frameCount})`,
          path,
        );
      if (errLines.length)
        throw new UserError('bad-media', `${path}: decoding failed at frame ${at} (ffmpeg: ${last})`, path);
      opts.onWarning?.(
        `${path}: the decoder gave ${produced} of ${wanted} frames (the index lists frames it could not decode)`,
      );
    } else if (errLines.length) {
      opts.onWarning?.(`${path}: decoded with errors (ffmpeg: ${last})`);
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (!proc.done) {
      stdout.destroy();
      await proc.kill();
    }
  }
}
