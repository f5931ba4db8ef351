/**
 * Where converted frames go: an H.264 video (media module's writer: temp file renamed into place on success,
 * audio from the input, label tags) or a folder of PNGs (written into a hidden sibling folder that replaces the
 * output folder only when complete). Either way an existing output is never replaced by a half-done one.
 * Also: the synthetic-media label (container tags + provenance sidecar) and the optional visible watermark.
 */
import { access, constants, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import { appName, appVersion } from '../app-info';
import { createVideoWriter, type X264Preset } from '../media/encode';

export const VIDEO_OUT = /\.(mp4|m4v|mov|mkv)$/i;

export interface FrameSink {
  write(frame: Buffer, name: string): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
  readonly written: number;
}

/** Fails early (before any work) with a one-line 'unwritable' error when the output cannot be written. */
export async function checkOutputWritable(output: string, input: string): Promise<void> {
  if (resolve(output) === resolve(input)) throw new UserError('unwritable', `${output}: the output must not be the input`, output);
  const parent = dirname(resolve(output));
  try {
    if (!(await stat(parent)).isDirectory()) throw new Error('not a folder');
    await access(parent, constants.W_OK);
  } catch {
    throw new UserError('unwritable', `${output}: cannot write here (${parent} is missing or not writable)`, output);
  }
  try {
    const st = await stat(output);
    if (VIDEO_OUT.test(output) && st.isDirectory()) throw new UserError('unwritable', `${output}: is a folder, expected a video file name`, output);
    if (!VIDEO_OUT.test(output) && !st.isDirectory()) throw new UserError('unwritable', `${output}: exists and is not a folder (use .mp4, .mov or .mkv for a video)`, output);
    await access(output, constants.W_OK);
  } catch (e) {
    if (e instanceof UserError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UserError('unwritable', `${output}: exists and cannot be replaced`, output);
  }
}

export interface LabelInfo {
  date: string;
  model: string;
  trainer: string;
}

/** Container tags that label the output as synthetic media. */
export function labelMetadata(l: LabelInfo): Record<string, string> {
  const text = `Synthetic media: faces replaced by ${appName} ${appVersion} on ${l.date}`;
  return {
    comment: text,
    description: `${text} (model: ${l.trainer}). See the .provenance.json sidecar.`,
    synthetic_media: 'true',
    generator: `${appName} ${appVersion}`,
    creation_time: l.date,
  };
}

export interface VideoSinkOptions {
  path: string;
  width: number;
  height: number;
  fps: string;
  crf: number;
  preset: X264Preset;
  audioFrom?: string;
  audioOffsetSec?: number;
  metadata?: Record<string, string>;
  signal: AbortSignal;
  onWarning(message: string): void;
}

/** Video output through the media writer (temp file renamed into place; audio added once the duration is known). */
export async function videoSink(o: VideoSinkOptions): Promise<FrameSink> {
  const w = await createVideoWriter({
    path: o.path,
    width: o.width,
    height: o.height,
    fps: o.fps,
    crf: o.crf,
    preset: o.preset,
    signal: o.signal,
    onWarning: o.onWarning,
    ...(o.audioFrom ? { audioFrom: o.audioFrom, audioOffsetSec: o.audioOffsetSec ?? 0 } : {}),
    ...(o.metadata ? { metadata: o.metadata } : {}),
  });
  return {
    write: (frame) => w.write(frame),
    close: () => w.close(),
    abort: () => w.abort(),
    get written() {
      return w.framesWritten;
    },
  };
}

/**
 * PNG frames into `<dir>` via a hidden temporary sibling folder; `sign` embeds Content Credentials in each PNG
 * (content-credentials.ts).
 */
export async function folderSink(dir: string, width: number, height: number, sign?: (png: Buffer) => Promise<Uint8Array>): Promise<FrameSink> {
  const out = resolve(dir);
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(tmp, { recursive: true });
  let written = 0;
  return {
    async write(frame, name) {
      const png = sharp(frame, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 3 });
      if (sign) await writeFile(join(tmp, name), await sign(await png.toBuffer()));
      else await png.toFile(join(tmp, name));
      written++;
    },
    async close() {
      let old: string | null = null;
      try {
        await stat(out);
        old = `${tmp}.old`;
        await rename(out, old);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new UserError('unwritable', `${dir}: cannot replace the existing folder`, dir);
      }
      await rename(tmp, out);
      if (old) await rm(old, { recursive: true, force: true });
    },
    async abort() {
      await rm(tmp, { recursive: true, force: true });
    },
    get written() {
      return written;
    },
  };
}

/**
 * A visible "SYNTHETIC MEDIA" mark for the bottom-right corner: rendered once (sharp/librsvg) as premultiplied
 * RGBA, then alpha-blended into each frame.
 */
export async function createWatermark(width: number, height: number): Promise<(frame: Buffer) => void> {
  const h = Math.max(12, Math.round(Math.min(width, height) * 0.045));
  const w = Math.round(h * 7.5);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" rx="${h / 5}" fill="black" fill-opacity="0.45"/><text x="50%" y="72%" font-family="sans-serif" font-weight="bold" font-size="${h * 0.62}" fill="white" text-anchor="middle">SYNTHETIC MEDIA</text></svg>`;
  const { data } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const mw = Math.min(w, width), mh = Math.min(h, height);
  const x0 = width - mw - Math.round(h / 3) > 0 ? width - mw - Math.round(h / 3) : 0;
  const y0 = height - mh - Math.round(h / 3) > 0 ? height - mh - Math.round(h / 3) : 0;
  return (frame) => {
    for (let y = 0; y < mh; y++) {
      for (let x = 0; x < mw; x++) {
        const s = (y * w + x) * 4, a = data[s + 3]! / 255;
        if (a === 0) continue;
        const d = ((y0 + y) * width + x0 + x) * 3;
        for (let c = 0; c < 3; c++) frame[d + c] = Math.round(frame[d + c]! * (1 - a) + data[s + c]! * a);
      }
    }
  };
}
