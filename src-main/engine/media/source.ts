/**
 * One way to read frames from whatever the user points at: a video, a single image or a folder of images.
 * The extract and convert stages iterate `frames()` and key their results by `key`: the frame index for a
 * video, the file name for images.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { decodeFrames, type DecodeOptions, type Frame } from './decode';
import { imageFacts, isImagePath, listImages, readImage, stemOf } from './images';
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
