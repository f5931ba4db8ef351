/**
 * The engine's one home for reading frames from whatever the user points at: a video, a single image or a folder
 * of images. `openSource` is what the frames stage reads (sized frames with alpha); `openKeyedSource` is what
 * extract and convert read (frames keyed for the alignments file, resumable, with the source's content hash).
 */
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import type { AlignmentsSource } from '../../../src-shared/formats/alignments';
import type { RgbImage } from '../image/types';
import { decodeFrames, type DecodeOptions, type Frame } from './decode';
import { imageFacts, isImagePath, listImages, naturalCompare, readImage, readImageRgb, stemOf } from './images';
import { sha256File } from './fs';
import { probeVideo, type VideoInfo } from './probe';

export interface SourceFrame extends Frame {
  /** Frame index (video) or file name (images). */
  key: string | number;
  /** File-name-safe stem: `<video stem>_000123` for a video, the image's stem for images. */
  name: string;
  /** Alpha plane (one byte per pixel) of an image that has one. */
  alpha?: Buffer;
}

export type SourceFramesOptions = Pick<
  DecodeOptions,
  'start' | 'end' | 'every' | 'signal' | 'width' | 'height' | 'onWarning'
>;

export interface ImagesInfo {
  /** The folder, or the single image file. */
  path: string;
  files: string[];
  /** Size of the first image after EXIF orientation (images of a folder may differ). */
  width: number;
  height: number;
  hasAlpha: boolean;
}

interface SourceBase {
  path: string;
  /** Number of frames `frames()` yields with no range. */
  count: number;
  frames(opts?: SourceFramesOptions): AsyncGenerator<SourceFrame, void, undefined>;
}

export interface VideoSource extends SourceBase {
  kind: 'video';
  info: VideoInfo;
}

export interface ImagesSource extends SourceBase {
  kind: 'images';
  info: ImagesInfo;
}

export type MediaSource = VideoSource | ImagesSource;

/** Name stem of frame `index` of a video: `clip_000123`. */
export function videoFrameName(videoPath: string, index: number): string {
  return `${stemOf(videoPath)}_${String(index).padStart(6, '0')}`;
}

/** Opens a video file, an image file or a folder of images. Throws not-found, not-a-file, no-images, bad-media. */
export async function openSource(path: string): Promise<MediaSource> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new UserError('not-found', `${path}: no such file or folder`, path);
    throw new UserError('bad-media', `${path}: cannot be read (${code ?? (e as Error).message})`, path);
  }
  if (st.isDirectory()) return imagesSource(path, await listImages(path));
  if (isImagePath(path)) return imagesSource(path, [path]);
  const info = await probeVideo(path);
  return {
    kind: 'video',
    path,
    info,
    count: info.frameCount,
    async *frames(opts: SourceFramesOptions = {}) {
      for await (const f of decodeFrames(path, opts)) yield { ...f, key: f.index, name: videoFrameName(path, f.index) };
    },
  };
}

async function imagesSource(path: string, files: string[]): Promise<ImagesSource> {
  const first = await imageFacts(files[0] as string);
  return {
    kind: 'images',
    path,
    info: { path, files, width: first.width, height: first.height, hasAlpha: first.hasAlpha },
    count: files.length,
    async *frames(opts: SourceFramesOptions = {}) {
      const start = opts.start ?? 0;
      const end = Math.min(opts.end ?? files.length, files.length);
      const every = Math.max(1, opts.every ?? 1);
      const size = { ...(opts.width ? { width: opts.width } : {}), ...(opts.height ? { height: opts.height } : {}) };
      const indices: number[] = [];
      for (let i = start; i < end; i += every) indices.push(i);
      // Read one image ahead so decoding the next overlaps the consumer's work on this one.
      const read = (k: number) => {
        const p = readImage(files[indices[k] as number] as string, size);
        p.catch(() => {}); // observed when awaited; avoids an unhandled rejection if the consumer stops first
        return p;
      };
      let next = indices.length ? read(0) : undefined;
      for (let k = 0; k < indices.length; k++) {
        if (opts.signal?.aborted) throw new UserError('cancelled', 'cancelled by the user');
        const img = await (next as Promise<Awaited<ReturnType<typeof readImage>>>);
        next = k + 1 < indices.length ? read(k + 1) : undefined;
        const index = indices[k] as number;
        const file = files[index] as string;
        const frame: SourceFrame = {
          index,
          timeSec: 0,
          width: img.width,
          height: img.height,
          data: img.data,
          key: basename(file),
          name: stemOf(file),
        };
        if (img.alpha) frame.alpha = img.alpha;
        yield frame;
      }
    },
  };
}

export interface KeyedFrame {
  /** Alignments key: frame index for video, file name for photos. */
  key: string;
  /** Frame index (video) or position in the folder (photos). */
  index: number;
  timeSec?: number;
  /** Stem used to name the aligned faces. */
  stem: string;
  image: RgbImage;
}

export interface KeyedSource {
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
  }): AsyncGenerator<KeyedFrame>;
}

/**
 * The keyed view extract and convert read (with resume): a video's frames, one photo, or a folder's photos in
 * natural order, each as RGB24 with its alignments key (frame index or file name) and content hash.
 */
export async function openKeyedSource(path: string, signal: AbortSignal): Promise<KeyedSource> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new UserError('not-found', `${path}: no such file or folder`, path);
  }
  if (st.isDirectory()) {
    const names = (await readdir(path)).filter((n) => isImagePath(n)).sort(naturalCompare);
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
  if (isImagePath(path)) {
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
