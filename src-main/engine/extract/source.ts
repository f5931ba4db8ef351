/**
 * What extract reads: the frames of a video (via the media module's ffmpeg decoder), one photo, or the photos of
 * a folder in natural order (sharp, EXIF orientation applied), each as RGB24 with a key for the alignments file.
 * Kept to this small interface so the media module's `openSource` can replace it once it exists.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import type { AlignmentsSource } from '../../../src-shared/formats/alignments';
import { decodeFrames } from '../media/decode';
import { probeVideo, sha256File } from '../media/probe';
import type { RgbImage } from '../face/types';

export const VIDEO_EXT = /\.(mp4|m4v|mov|mkv|webm|avi|mpg|mpeg|wmv|flv|ts)$/i;
export const IMAGE_EXT = /\.(jpe?g|png|webp|bmp|tiff?|gif|avif)$/i;

export interface SourceFrame {
  /** Alignments key: frame index for video, file name for photos. */
  key: string;
  /** Frame index (video) or position in the folder (photos). */
  index: number;
  timeSec?: number;
  /** Stem used to name the aligned faces. */
  stem: string;
  image: RgbImage;
}

export interface ExtractSource {
  kind: AlignmentsSource['kind'];
  path: string;
  /** Total frames or photos. */
  total: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Content hash (see AlignmentsSource.sha256). */
  sha256(): Promise<string>;
  /** Frames from `start` (index), every `every`-th one, skipping keys for which `skip` is true. */
  frames(opts: {
    start: number;
    every: number;
    skip?: (key: string) => boolean;
    signal: AbortSignal;
  }): AsyncGenerator<SourceFrame>;
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

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

export async function openExtractSource(path: string, signal: AbortSignal): Promise<ExtractSource> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new UserError('not-found', `${path}: no such file or folder`, path);
  }
  if (st.isDirectory()) {
    const names = (await readdir(path)).filter((n) => IMAGE_EXT.test(n)).sort(collator.compare);
    if (names.length === 0) throw new UserError('no-images', `${path}: the folder holds no image file`, path);
    return {
      kind: 'folder',
      path,
      total: names.length,
      async sha256() {
        const h = createHash('sha256');
        for (const n of names) h.update(`${n}\t${await sha256File(join(path, n), signal)}\n`);
        return h.digest('hex');
      },
      async *frames({ skip }) {
        for (let i = 0; i < names.length; i++) {
          const n = names[i]!;
          if (skip?.(n)) continue;
          yield { key: n, index: i, stem: basename(n, extname(n)), image: await readImageRgb(join(path, n)) };
        }
      },
    };
  }
  if (IMAGE_EXT.test(path)) {
    const name = basename(path);
    return {
      kind: 'image',
      path,
      total: 1,
      sha256: () => sha256File(path, signal),
      async *frames({ skip }) {
        if (skip?.(name)) return;
        yield { key: name, index: 0, stem: basename(path, extname(path)), image: await readImageRgb(path) };
      },
    };
  }
  const info = await probeVideo(path, { signal });
  const stem = basename(path, extname(path));
  return {
    kind: 'video',
    path,
    total: info.frameCount,
    width: info.width,
    height: info.height,
    fps: info.fps,
    sha256: () => sha256File(path, signal),
    async *frames({ start, every, skip, signal: sig }) {
      if (start >= info.frameCount) return;
      for await (const f of decodeFrames(path, { start, every, signal: sig })) {
        const key = String(f.index);
        if (skip?.(key)) continue;
        yield {
          key,
          index: f.index,
          timeSec: f.timeSec,
          stem,
          image: { width: f.width, height: f.height, data: f.data },
        };
      }
    },
  };
}
