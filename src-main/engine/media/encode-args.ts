/**
 * The ffmpeg command lines of the video writer (encode.ts), as pure functions of its options: the frame rate as a
 * rational, the container from the extension, the odd-size policy, the encode pass, the container flags and tags,
 * and the audio mux pass. encode.ts keeps the process, the temporary files and the pipe's state machine.
 */
import { extname } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import type { X264Preset } from '../../../src-shared/stages/media';
import { parseRate } from './probe';

/** Normalises a frame rate to the rational string ffmpeg takes; NTSC rates become n*1000/1001. */
export function fpsToRational(fps: number | string): string {
  if (typeof fps === 'string') {
    const s = fps.trim();
    const v = parseRate(s);
    if (!(v > 0 && v <= 1000))
      throw new UserError('bad-option', `fps: '${fps}' is not a frame rate (for example 30, 29.97 or 30000/1001)`);
    return s.includes('/') ? s : fpsToRational(v);
  }
  if (!Number.isFinite(fps) || fps <= 0 || fps > 1000)
    throw new UserError('bad-option', `fps: ${fps} is not a frame rate`);
  if (Number.isInteger(fps)) return `${fps}/1`;
  const ntsc = Math.round(fps * 1.001);
  if (Math.abs(fps - (ntsc * 1000) / 1001) < 0.0015) return `${ntsc * 1000}/1001`;
  return `${Math.round(fps * 1000)}/1000`;
}

export type Container = 'mp4' | 'mov' | 'matroska';

export function containerOf(path: string): Container {
  const ext = extname(path).toLowerCase();
  if (ext === '.mp4' || ext === '.m4v') return 'mp4';
  if (ext === '.mov') return 'mov';
  if (ext === '.mkv') return 'matroska';
  throw new UserError(
    'bad-option',
    `${path}: unsupported video extension '${ext || '(none)'}' (use .mp4, .mov or .mkv)`,
    path,
  );
}

/** Audio codecs each container takes as is; anything else is re-encoded to AAC. */
export function canCopyAudio(container: Container, codec: string): boolean {
  if (container === 'matroska') return true;
  const mp4 = ['aac', 'mp3', 'alac', 'ac3', 'eac3'];
  if (container === 'mp4') return mp4.includes(codec);
  return mp4.includes(codec) || codec.startsWith('pcm_');
}

/** Tags ffmpeg's MP4 muxer writes natively; any other key needs `use_metadata_tags` (mdta keys). */
const MP4_NATIVE_TAGS = new Set([
  'title',
  'artist',
  'album_artist',
  'album',
  'composer',
  'date',
  'genre',
  'comment',
  'description',
  'synopsis',
  'copyright',
  'grouping',
  'lyrics',
  'show',
  'network',
  'encoder',
]);

/** The odd-size policy (see encode.ts): 4:2:0 at an even size, or 4:4:4 at the exact odd size. */
export function sizePlan(
  width: number,
  height: number,
  oddSize: 'exact' | 'crop' | undefined,
): { odd: boolean; crop: boolean; pixFmt: 'yuv420p' | 'yuv444p'; outputWidth: number; outputHeight: number } {
  const odd = width % 2 === 1 || height % 2 === 1;
  const crop = odd && oddSize === 'crop';
  return {
    odd,
    crop,
    pixFmt: odd && !crop ? 'yuv444p' : 'yuv420p',
    outputWidth: crop ? width - (width % 2) : width,
    outputHeight: crop ? height - (height % 2) : height,
  };
}

/** Container flags and tags of the final file, then its format and path. */
export function containerArgs(container: Container, meta: ReadonlyArray<[string, string]>, out: string): string[] {
  const args: string[] = [];
  if (container !== 'matroska') {
    const flags = ['+faststart'];
    if (meta.some(([k]) => !MP4_NATIVE_TAGS.has(k))) flags.push('+use_metadata_tags');
    args.push('-movflags', flags.join(''));
  }
  for (const [k, v] of meta) args.push('-metadata', `${k}=${v}`);
  args.push('-f', container, out);
  return args;
}

/**
 * The encode pass: RGB24 frames on stdin, BT.709 limited range, x264. `output` ends the command: the final
 * file's container arguments, or a temporary MP4 when the audio is muxed in afterwards.
 */
export function encodeArgs(o: {
  width: number;
  height: number;
  rate: string;
  plan: ReturnType<typeof sizePlan>;
  preset: X264Preset;
  crf: number;
  /** x264 threads (frame threads; each holds a frame and its references: ~25 MiB at 1080p); x264's own default if absent. */
  threads?: number;
  output: string[];
}): string[] {
  const { plan } = o;
  const vf = [
    ...(plan.crop ? [`crop=${plan.outputWidth}:${plan.outputHeight}:0:0`] : []),
    'scale=out_color_matrix=bt709:out_range=tv:flags=bicubic+accurate_rnd+full_chroma_int',
    `format=${plan.pixFmt}`,
  ];
  return [
    ...['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-video_size', `${o.width}x${o.height}`, '-framerate', o.rate],
    ...['-i', 'pipe:0', '-map', '0:v:0'],
    ...['-vf', vf.join(','), '-c:v', 'libx264', '-preset', o.preset, '-crf', String(o.crf), '-pix_fmt', plan.pixFmt],
    ...(o.threads ? ['-threads', String(o.threads)] : []),
    ...['-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv'],
    ...o.output,
  ];
}

/** The audio pass: the encoded video stream copied, `audio`'s track cut to `durationSec` from its offset. */
export function muxArgs(o: {
  videoTmp: string;
  audioPath: string;
  audio: { index: number; offset: number; copy: boolean };
  durationSec: number;
  output: string[];
}): string[] {
  const mux = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', '-i', o.videoTmp];
  if (o.audio.offset > 0.0005) mux.push('-ss', o.audio.offset.toFixed(6));
  mux.push('-t', o.durationSec.toFixed(6), '-i', o.audioPath);
  mux.push('-map', '0:v:0', '-map', `1:${o.audio.index}`, '-map_metadata', '-1', '-c:v', 'copy');
  mux.push(...(o.audio.copy ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', '192k']), ...o.output);
  return mux;
}
