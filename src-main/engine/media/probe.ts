/**
 * What a video file holds, read with ffprobe: displayed size (after rotation), frame rate, an exact frame count
 * and the timestamp of every frame (from a demux-only packet scan: no decoding, so it runs at disk speed), and
 * the audio. Bad inputs become one-line UserErrors naming the file: not-found, not-a-file, bad-media, truncated.
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { resolveFfprobe } from './ffmpeg';
import { checkInputFile } from './fs';
import { cleanToolMessage, runTool } from './proc';

export type Rotation = 0 | 90 | 180 | 270;

export interface VideoInfo {
  path: string;
  /** ffprobe's format name, for example `mov,mp4,m4a,3gp,3g2,mj2`. */
  container: string;
  sizeBytes: number;
  /** Frame size as displayed, after rotation: what `decodeFrames` yields. */
  width: number;
  height: number;
  /** Frame size as stored in the stream, before rotation. */
  codedWidth: number;
  codedHeight: number;
  /** Clockwise rotation a player applies for display (display matrix side data or the `rotate` tag). */
  rotation: Rotation;
  /** Sample (pixel) aspect ratio, `1:1` for square pixels. Frames are decoded at stored size, not stretched. */
  sampleAspectRatio: string;
  /** Frames per second used for timing: r_frame_rate for constant-rate video, avg_frame_rate otherwise. */
  fps: number;
  /** The same as an exact rational string (`30000/1001`), for the encoder. */
  fpsRational: string;
  rFrameRate: string;
  avgFrameRate: string;
  /**
   * True when r_frame_rate and avg_frame_rate differ by more than 1 %, or when some interval between two
   * consecutive frames differs from the usual one by more than half a frame (a dropped or held frame): such
   * video re-encoded at a constant rate drifts from its audio after that point.
   */
  variableFrameRate: boolean;
  /** Frames the decoder yields. */
  frameCount: number;
  /** `packets`: counted (exact); `header`: the container's nb_frames; `estimate`: duration x fps. */
  frameCountSource: 'packets' | 'header' | 'estimate';
  /** Duration of the video stream in seconds. */
  durationSec: number;
  /** Time of the first frame on the file's clock (0 for most files; players start the clock at 0). */
  startTimeSec: number;
  videoCodec: string;
  pixFmt: string;
  videoStreamIndex: number;
  hasAudio: boolean;
  audioCodec?: string;
  audioChannels?: number;
  audioSampleRate?: number;
  audioStreamIndex?: number;
  /** Container tags (title, comment, encoder...). */
  tags: Record<string, string>;
}

export interface ProbeOptions {
  /** Count packets for an exact frame count and per-frame timestamps (default true; demux only, fast). */
  exact?: boolean;
  signal?: AbortSignal;
}

/** VideoInfo plus the presentation time of every frame (seconds on the file's clock), when counted. */
export interface DetailedProbe {
  info: VideoInfo;
  frameTimes?: Float64Array;
}

interface FfStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  time_base?: string;
  start_time?: string;
  duration?: string;
  nb_frames?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: Record<string, number>;
  tags?: Record<string, string>;
  side_data_list?: Array<Record<string, unknown>>;
}

interface FfFormat {
  format_name?: string;
  start_time?: string;
  duration?: string;
  tags?: Record<string, string>;
}

/** Parses `30000/1001`, `30/1` or `29.97`; 0 for `0/0`, N/A or garbage. */
export function parseRate(r: string | undefined): number {
  if (!r) return 0;
  const m = /^(-?\d+(?:\.\d+)?)(?:\/(\d+(?:\.\d+)?))?$/.exec(r.trim());
  if (!m) return 0;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  return den > 0 && Number.isFinite(num / den) && num > 0 ? num / den : 0;
}

function num(s: string | undefined): number | undefined {
  if (s === undefined || s === 'N/A') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
}

function rotationOf(s: FfStream): Rotation {
  let ccw: number | undefined;
  for (const sd of s.side_data_list ?? []) {
    if (typeof sd.rotation === 'number') ccw = sd.rotation;
    else if (typeof sd.rotation === 'string' && Number.isFinite(Number(sd.rotation))) ccw = Number(sd.rotation);
  }
  // Display matrix rotation is counter-clockwise; the legacy `rotate` tag is clockwise.
  let cw = ccw !== undefined ? -ccw : Number(s.tags?.rotate ?? 0);
  if (!Number.isFinite(cw)) cw = 0;
  const q = ((Math.round(cw / 90) % 4) + 4) % 4;
  return (q * 90) as Rotation;
}

/** Is the start of the file an ISO-BMFF (MP4/MOV) box? Tells a cut-short MP4 from a text file named .mp4. */
async function looksLikeIsoBmff(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(12);
    await fh.read(buf, 0, 12, 0);
    const type = buf.toString('latin1', 4, 8);
    return ['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'pnot'].includes(type);
  } finally {
    await fh.close();
  }
}

async function ffprobeJson(path: string, signal?: AbortSignal): Promise<{ streams: FfStream[]; format: FfFormat }> {
  const probe = await resolveFfprobe();
  const r = await runTool(
    probe.path,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', '--', resolve(path)],
    {
      timeoutMs: 120_000,
      ...(signal ? { signal } : {}),
    },
  );
  if (signal?.aborted) throw new UserError('cancelled', 'cancelled by the user');
  if (r.error) throw new UserError('unavailable', `${probe.path}: ffprobe could not be started (${r.error.message})`);
  const lines = r.stderr.split(/\r?\n/).filter((l) => l.trim());
  if (r.code !== 0) {
    const all = r.stderr;
    if (/moov atom not found/i.test(all) && (await looksLikeIsoBmff(path)))
      throw new UserError(
        'truncated',
        `${path}: truncated video (its MP4 index is missing: the file was cut short while being written or copied)`,
        path,
      );
    if (/Invalid data found when processing input/i.test(all))
      throw new UserError(
        'bad-media',
        `${path}: not a video file (ffprobe: invalid data found when processing input)`,
        path,
      );
    const last = cleanToolMessage(lines[lines.length - 1] ?? `exit code ${r.code}`, path);
    throw new UserError('bad-media', `${path}: not a readable video file (ffprobe: ${last})`, path);
  }
  try {
    const j = JSON.parse(r.stdout) as { streams?: FfStream[]; format?: FfFormat };
    return { streams: j.streams ?? [], format: j.format ?? {} };
  } catch {
    throw new UserError('bad-media', `${path}: not a readable video file (ffprobe printed no valid JSON)`, path);
  }
}

interface PacketScan {
  times: Float64Array;
  truncated: boolean;
}

/** Demux-only scan of the video stream's packets: presentation times (seconds, sorted) of the kept frames. */
async function scanPackets(ffprobe: string, path: string, s: FfStream, signal?: AbortSignal): Promise<PacketScan> {
  const r = await runTool(
    ffprobe,
    [
      '-v',
      'error',
      '-select_streams',
      String(s.index),
      '-show_entries',
      'packet=pts,dts,flags',
      '-of',
      'csv=p=0',
      '--',
      resolve(path),
    ],
    { timeoutMs: 30 * 60_000, ...(signal ? { signal } : {}) },
  );
  if (signal?.aborted) throw new UserError('cancelled', 'cancelled by the user');
  const [tbNum, tbDen] = (s.time_base ?? '1/1').split('/').map(Number);
  const tb = (tbNum ?? 1) / (tbDen || 1);
  const out: number[] = [];
  for (const line of r.stdout.split('\n')) {
    if (!line) continue;
    const [pts, dts, flags] = line.split(',');
    if (flags?.includes('D')) continue; // discarded by an edit list: never shown
    const t = num(pts) ?? num(dts);
    out.push(t === undefined ? Number.NaN : t * tb);
  }
  const times = Float64Array.from(out);
  // Packets without any timestamp keep their order; the rest are sorted into presentation order.
  if (!times.some(Number.isNaN)) times.sort();
  const truncated = /partial file|Invalid NAL unit size|error reading packet/i.test(r.stderr);
  return { times, truncated };
}

function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

const cache = new Map<string, Promise<DetailedProbe>>();

/** Probes a video and returns VideoInfo with the per-frame timestamps (used by decodeFrames to seek exactly). */
export async function probeVideoDetailed(path: string, opts: ProbeOptions = {}): Promise<DetailedProbe> {
  const st = await checkInputFile(path);
  const exact = opts.exact ?? true;
  const key = `${path}\0${st.size}\0${st.mtimeMs}\0${exact}`;
  let p = cache.get(key);
  if (!p) {
    p = probeUncached(path, st.size, exact, opts.signal);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
    while (cache.size > 64) cache.delete(cache.keys().next().value as string);
  }
  return p;
}

/** Probes a video file. Throws UserError: not-found, not-a-file, bad-media, truncated, unavailable. */
export async function probeVideo(path: string, opts: ProbeOptions = {}): Promise<VideoInfo> {
  return (await probeVideoDetailed(path, opts)).info;
}

async function probeUncached(
  path: string,
  sizeBytes: number,
  exact: boolean,
  signal?: AbortSignal,
): Promise<DetailedProbe> {
  const { streams, format } = await ffprobeJson(path, signal);
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic && (s.width ?? 0) > 0);
  if (!video) {
    const what = streams.some((s) => s.codec_type === 'audio') ? 'it has only audio' : 'ffprobe found no video stream';
    throw new UserError('bad-media', `${path}: not a video file (${what})`, path);
  }
  const audio = streams.find((s) => s.codec_type === 'audio');
  const codedWidth = video.width ?? 0;
  const codedHeight = video.height ?? 0;
  const rotation = rotationOf(video);
  const swap = rotation === 90 || rotation === 270;
  const formatStart = num(format.start_time) ?? 0;
  const streamStart = num(video.start_time) ?? formatStart;

  const rRate = parseRate(video.r_frame_rate);
  const avgRate = parseRate(video.avg_frame_rate);
  const headerFrames = num(video.nb_frames);
  let durationSec = num(video.duration) ?? num(format.duration) ?? 0;

  let frameTimes: Float64Array | undefined;
  let frameCount: number;
  let frameCountSource: VideoInfo['frameCountSource'];
  let irregular = false;
  if (exact) {
    const probe = await resolveFfprobe();
    const scan = await scanPackets(probe.path, path, video, signal);
    if (scan.truncated && headerFrames !== undefined && scan.times.length < headerFrames) {
      throw new UserError(
        'truncated',
        `${path}: truncated video (its index lists ${headerFrames} frames but the data stops after ${scan.times.length})`,
        path,
      );
    }
    if (scan.times.length === 0) throw new UserError('bad-media', `${path}: the video stream holds no frames`, path);
    frameCount = scan.times.length;
    frameCountSource = 'packets';
    if (!scan.times.some(Number.isNaN)) {
      frameTimes = scan.times.map((t) => t - formatStart);
      const intervals: number[] = [];
      for (let i = 1; i < scan.times.length; i++) intervals.push((scan.times[i] ?? 0) - (scan.times[i - 1] ?? 0));
      const m = median(intervals);
      irregular = m > 0 && intervals.some((d) => Math.abs(d - m) > 0.5 * m);
      if (!durationSec && m > 0) durationSec = (scan.times[scan.times.length - 1] ?? 0) - (scan.times[0] ?? 0) + m;
    }
  } else if (headerFrames !== undefined && headerFrames > 0) {
    frameCount = headerFrames;
    frameCountSource = 'header';
  } else {
    frameCount = Math.max(1, Math.round(durationSec * (avgRate || rRate || 25)));
    frameCountSource = 'estimate';
  }

  const rateMismatch = rRate > 0 && avgRate > 0 && Math.abs(rRate - avgRate) / avgRate > 0.01;
  const variableFrameRate = rateMismatch || irregular;
  const useR = rRate > 0 && !variableFrameRate;
  const fps = useR ? rRate : avgRate || rRate || (durationSec > 0 ? frameCount / durationSec : 25);
  const fpsRational = useR
    ? (video.r_frame_rate ?? String(fps))
    : avgRate
      ? (video.avg_frame_rate ?? String(fps))
      : String(fps);
  if (!durationSec) durationSec = frameCount / fps;

  const info: VideoInfo = {
    path,
    container: format.format_name ?? 'unknown',
    sizeBytes,
    width: swap ? codedHeight : codedWidth,
    height: swap ? codedWidth : codedHeight,
    codedWidth,
    codedHeight,
    rotation,
    sampleAspectRatio:
      video.sample_aspect_ratio && video.sample_aspect_ratio !== '0:1' ? video.sample_aspect_ratio : '1:1',
    fps,
    fpsRational,
    rFrameRate: video.r_frame_rate ?? '0/0',
    avgFrameRate: video.avg_frame_rate ?? '0/0',
    variableFrameRate,
    frameCount,
    frameCountSource,
    durationSec,
    startTimeSec: Math.max(0, streamStart - formatStart),
    videoCodec: video.codec_name ?? 'unknown',
    pixFmt: video.pix_fmt ?? 'unknown',
    videoStreamIndex: video.index,
    hasAudio: audio !== undefined,
    tags: { ...(format.tags ?? {}) },
  };
  if (audio) {
    info.audioCodec = audio.codec_name ?? 'unknown';
    if (audio.channels !== undefined) info.audioChannels = audio.channels;
    const sr = num(audio.sample_rate);
    if (sr !== undefined) info.audioSampleRate = sr;
    info.audioStreamIndex = audio.index;
  }
  return frameTimes ? { info, frameTimes } : { info };
}

/** The first audio track of any media file (audio-only files included). Throws bad-media when there is none. */
export async function probeAudio(
  path: string,
  signal?: AbortSignal,
): Promise<{ audioStreamIndex: number; audioCodec: string }> {
  await checkInputFile(path, 'a media file');
  const { streams } = await ffprobeJson(path, signal);
  const a = streams.find((s) => s.codec_type === 'audio');
  if (!a) throw new UserError('bad-media', `${path}: has no audio track`, path);
  return { audioStreamIndex: a.index, audioCodec: a.codec_name ?? 'unknown' };
}
