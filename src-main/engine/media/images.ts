/**
 * Still images through sharp: folder listing in natural order, reading with EXIF orientation applied (RGB and
 * alpha apart), and writing image sequences.
 */
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import { IMAGE_EXTENSIONS, isImageFile as isImagePath } from '../../../src-shared/files';
import { checkInputFile, ensureDir } from './fs';

/** Extensions read as still images (sharp's prebuilt libvips reads all of these): the one list, shared. */
export { isImageFile as isImagePath, stemOf } from '../../../src-shared/files';

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Natural order: `frame9` before `frame10`; ties (case only) broken by code point so the order is total. */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Image files directly inside `folder` (absolute paths), in natural order. Hidden files (`.x`, macOS `._x`
 * resource forks) and sub-folders are skipped. Throws not-found, not-a-file, or no-images for an empty result.
 */
export async function listImages(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError('not-found', `${folder}: no such folder`, folder);
    if (code === 'ENOTDIR') throw new UserError('not-a-file', `${folder}: is a file, not a folder of images`, folder);
    throw new UserError('bad-media', `${folder}: cannot be read (${code ?? (e as Error).message})`, folder);
  }
  const names: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.') || !isImagePath(e.name)) continue;
    if (e.isFile()) names.push(e.name);
    else if (e.isSymbolicLink()) {
      try {
        if ((await stat(join(folder, e.name))).isFile()) names.push(e.name);
      } catch {
        // dangling link
      }
    }
  }
  if (!names.length)
    throw new UserError(
      'no-images',
      `${folder}: no image files in this folder (looked for ${IMAGE_EXTENSIONS.join(' ')})`,
      folder,
    );
  return names.sort(naturalCompare).map((n) => join(folder, n));
}

export interface RgbImage {
  width: number;
  height: number;
  /** Packed RGB24 (8 bits per channel, sRGB), EXIF orientation applied. */
  data: Buffer;
  /** One byte per pixel when the image has an alpha channel. */
  alpha?: Buffer;
}

function imageError(path: string, e: unknown): UserError {
  const msg = ((e as Error).message ?? String(e)).split('\n')[0]?.trim() ?? '';
  if (/premature end|truncated|unexpected end|short read|end of (file|stream)|not enough data/i.test(msg))
    return new UserError('truncated', `${path}: truncated image (${msg})`, path);
  return new UserError('bad-media', `${path}: not a readable image (${msg})`, path);
}

export interface ReadImageOptions {
  /** Resize to this size (both: exact; one: keeps the aspect ratio). */
  width?: number;
  height?: number;
}

/**
 * Reads an image as 8-bit sRGB with EXIF orientation applied; the alpha channel, when present, is returned
 * separately. Greyscale, palette, CMYK and 16-bit images are converted. Throws not-found, not-a-file,
 * bad-media or truncated, naming the file.
 */
export async function readImage(path: string, opts: ReadImageOptions = {}): Promise<RgbImage> {
  await checkInputFile(path, 'an image file');
  try {
    // failOn 'error': a truncated JPEG or PNG is an error, not a silently grey bottom half.
    let img = sharp(path, { failOn: 'error', limitInputPixels: 1 << 28 }).rotate();
    if (opts.width || opts.height)
      img = img.resize({
        ...(opts.width ? { width: opts.width } : {}),
        ...(opts.height ? { height: opts.height } : {}),
        fit: opts.width && opts.height ? 'fill' : 'inside',
      });
    const { data, info } = await img
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const { width, height, channels } = info;
    const n = width * height;
    if (channels === 3) return { width, height, data };
    if (channels === 4) {
      const rgb = Buffer.allocUnsafe(n * 3);
      const alpha = Buffer.allocUnsafe(n);
      for (let i = 0, j = 0, k = 0; i < n; i++, j += 4, k += 3) {
        rgb[k] = data[j] as number;
        rgb[k + 1] = data[j + 1] as number;
        rgb[k + 2] = data[j + 2] as number;
        alpha[i] = data[j + 3] as number;
      }
      return { width, height, data: rgb, alpha };
    }
    throw new Error(`unexpected ${channels} channels after conversion to sRGB`);
  } catch (e) {
    throw imageError(path, e);
  }
}

export interface ImageFacts {
  width: number;
  height: number;
  /** Size after EXIF orientation. */
  format: string;
  hasAlpha: boolean;
  /** EXIF orientation tag (1-8), 1 when absent. */
  orientation: number;
}

/** Header facts of an image without decoding its pixels. */
export async function imageFacts(path: string): Promise<ImageFacts> {
  await checkInputFile(path, 'an image file');
  try {
    const m = await sharp(path).metadata();
    const orientation = m.orientation ?? 1;
    const swap = orientation >= 5;
    const w = m.width ?? 0;
    const h = m.height ?? 0;
    return {
      width: swap ? h : w,
      height: swap ? w : h,
      format: m.format ?? 'unknown',
      hasAlpha: m.hasAlpha ?? false,
      orientation,
    };
  } catch (e) {
    throw imageError(path, e);
  }
}

export interface SequenceFrame {
  index: number;
  width: number;
  height: number;
  /** Packed RGB24. */
  data: Buffer;
  /** Optional alpha plane (one byte per pixel); written as RGBA to PNG, ignored for JPEG. */
  alpha?: Buffer;
  /** File name stem to use when the pattern has no `%d`. */
  name?: string;
}

export interface ImageSequenceOptions {
  format?: 'png' | 'jpg';
  /** JPEG quality 1-100 (default 95). */
  quality?: number;
  /** PNG zlib level 0-9 (default 3: close to level 6 in size, much faster). */
  compressionLevel?: number;
  /**
   * File name without extension: `%d` or `%06d` is replaced by the frame index; without it, `{name}` is the
   * frame's name. Default: the frame's name when it has one, else `frame_%06d`.
   */
  pattern?: string;
  signal?: AbortSignal;
  /** Called after each file is written. */
  onFrame?: (file: string, done: number) => void;
  /** Files encoded at the same time (default 2: the next frame decodes while one is compressed). */
  concurrency?: number;
}

export function fileNameFor(
  frame: Pick<SequenceFrame, 'index' | 'name'>,
  pattern: string | undefined,
  ext: string,
): string {
  let stem: string;
  if (pattern === undefined) stem = frame.name ?? `frame_${String(frame.index).padStart(6, '0')}`;
  else {
    stem = pattern
      .replace(/%(0?)(\d*)d/g, (_m, zero: string, w: string) =>
        String(frame.index).padStart(w ? Number(w) : 0, zero ? '0' : ' '),
      )
      .replaceAll('{name}', frame.name ?? String(frame.index))
      .replaceAll('{index}', String(frame.index));
  }
  if (/[/\\]/.test(stem) || stem === '' || stem.startsWith('.'))
    throw new UserError('bad-option', `pattern: '${stem}' is not a file name`);
  return `${stem}.${ext}`;
}

/** Encodes one frame to PNG/JPEG and writes it via a temporary name, so no half image is left behind. */
export async function writeImage(
  file: string,
  frame: Omit<SequenceFrame, 'index'>,
  opts: Pick<ImageSequenceOptions, 'format' | 'quality' | 'compressionLevel'> = {},
): Promise<void> {
  const format = opts.format ?? (extname(file).toLowerCase() === '.png' ? 'png' : 'jpg');
  const { width, height } = frame;
  let raw: Buffer = frame.data;
  let channels: 3 | 4 = 3;
  if (frame.alpha && format === 'png') {
    raw = Buffer.allocUnsafe(width * height * 4);
    for (let i = 0, j = 0, k = 0; i < width * height; i++, j += 4, k += 3) {
      raw[j] = frame.data[k] as number;
      raw[j + 1] = frame.data[k + 1] as number;
      raw[j + 2] = frame.data[k + 2] as number;
      raw[j + 3] = frame.alpha[i] as number;
    }
    channels = 4;
  }
  let img = sharp(raw, { raw: { width, height, channels } });
  img =
    format === 'png'
      ? img.png({ compressionLevel: opts.compressionLevel ?? 3 })
      : img.jpeg({ quality: opts.quality ?? 95, chromaSubsampling: '4:4:4' });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await img.toFile(tmp);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      'unwritable',
      `${file}: cannot write the image (${code ?? (e as Error).message.split('\n')[0]})`,
      file,
    );
  }
}

/**
 * Writes frames as numbered images into `folder` (created when missing). Returns the written file paths in
 * order. Back-pressure: at most `concurrency` frames are held while being compressed.
 */
export async function writeImageSequence(
  frames: AsyncIterable<SequenceFrame> | Iterable<SequenceFrame>,
  folder: string,
  opts: ImageSequenceOptions = {},
): Promise<string[]> {
  const format = opts.format ?? 'png';
  const ext = format === 'png' ? 'png' : 'jpg';
  try {
    await ensureDir(folder);
  } catch (e) {
    throw new UserError(
      'unwritable',
      `${folder}: cannot create the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      folder,
    );
  }
  const written: string[] = [];
  const pending = new Set<Promise<void>>();
  const limit = Math.max(1, opts.concurrency ?? 2);
  let failure: unknown;
  let done = 0;
  try {
    for await (const frame of frames) {
      if (opts.signal?.aborted) throw new UserError('cancelled', 'cancelled by the user');
      if (failure) break;
      const file = join(folder, fileNameFor(frame, opts.pattern, ext));
      written.push(file);
      const p: Promise<void> = writeImage(file, frame, {
        format,
        ...(opts.quality !== undefined ? { quality: opts.quality } : {}),
        ...(opts.compressionLevel !== undefined ? { compressionLevel: opts.compressionLevel } : {}),
      })
        .then(() => {
          done++;
          opts.onFrame?.(file, done);
        })
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => pending.delete(p));
      pending.add(p);
      if (pending.size >= limit) await Promise.race(pending);
    }
  } finally {
    await Promise.allSettled(pending);
  }
  if (failure) throw failure;
  return written;
}

/** Reads a photo as RGB24 with its EXIF orientation applied. */
export async function readImageRgb(path: string): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(path, { failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`unexpected ${info.channels} channels`);
    return { width: info.width, height: info.height, data };
  } catch (e) {
    throw new UserError('bad-media', `${path}: not a readable image (${(e as Error).message.split('\n')[0]})`, path);
  }
}

/** A mask PNG as 0..255 at `size` x `size` (its alpha when it has one, else its first channel). */
export async function readMaskPng(path: string, size: number): Promise<Uint8Array> {
  try {
    const img = sharp(path);
    const meta = await img.metadata();
    const plane = meta.hasAlpha ? img.extractChannel('alpha') : img.extractChannel(0);
    const buf = await plane.resize(size, size, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength).slice();
  } catch (e) {
    throw new UserError(
      'bad-media',
      `${path}: not a readable mask PNG (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
      path,
    );
  }
}
