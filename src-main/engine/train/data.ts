/**
 * Training faces: every aligned face image of a folder (the curated extract output: faces the user deleted are
 * simply not there), decoded once with sharp into RGBA at the cache size and kept in memory for the session.
 * An image without alpha gets its mask from the mask PNG beside it (`<face>.mask.png` painted in the Faces view,
 * else `<face>.segment.png` from the segment model; docs/masks.md), else from the landmarks in its PNG metadata
 * (the extended face hull, see face/face-mask.ts), or, for faces without them, the default ellipse over the face
 * area, so the masked trainer (and the masked loss) always has a target. Mask files are never faces.
 */
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import { isMaskFile, maskFileName } from '../../../src-shared/formats/face-masks';
import { FACE_PNG_KEYWORD, parseFacePngMeta } from '../../../src-shared/formats/face-png';
import { isImageFile } from '../../../src-shared/files';
import { readMaskPng } from '../media/images';
import { convexHull, fillConvexPolygon } from '../image/raster';
import { landmarkFaceMask } from '../face/face-mask';
import type { Point2 } from '../face/types';
import type { CachedFace } from './augment';

export async function listFaces(dir: string): Promise<string[]> {
  let names: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new UserError('not-a-file', `${dir}: not a folder of faces`, dir);
    names = await readdir(dir);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError('not-found', `${dir}: faces folder not found`, dir);
  }
  const files = names
    .filter((n) => isImageFile(n) && !isMaskFile(n))
    .sort()
    .map((n) => join(dir, n));
  if (files.length === 0) throw new UserError('no-images', `${dir}: no face images (png/jpg) in this folder`, dir);
  return files;
}

/**
 * The painted (`<face>.mask.png`) or else segment (`<face>.segment.png`) mask beside a face, 0..255 at `size`;
 * undefined when it has neither (a mask file that cannot be read is a one-line error naming it).
 */
async function maskBeside(file: string, size: number): Promise<Uint8Array | undefined> {
  for (const kind of ['painted', 'segment'] as const) {
    const path = join(dirname(file), maskFileName(file, kind));
    if (
      !(await stat(path).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      continue;
    return readMaskPng(path, size);
  }
  return undefined;
}

/** Default mask of an aligned face: an ellipse over the central face area, soft edge. */
export function defaultMask(size: number): Uint8Array {
  const m = new Uint8Array(size * size);
  const cx = size / 2;
  const cy = size * 0.54;
  const rx = size * 0.36;
  const ry = size * 0.44;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot((x + 0.5 - cx) / rx, (y + 0.5 - cy) / ry);
      const v = d < 0.9 ? 1 : d > 1.05 ? 0 : (1.05 - d) / 0.15;
      m[y * size + x] = Math.round(v * 255);
    }
  }
  return m;
}

/**
 * The eye and mouth regions of an aligned face (0..255 planes at `size`) from its 68 landmarks (in pixels of a
 * `fromSize` crop): each eye's hull (36-41, 42-47) grown 1.8x about its centre, so the lids and lashes are in,
 * and the outer lips' hull (48-59) grown 1.2x.
 */
export function landmarkRegions(
  landmarks: readonly Point2[],
  fromSize: number,
  size: number,
): { eyes: Uint8Array; mouth: Uint8Array } {
  const s = size / fromSize;
  const region = (groups: number[][], grow: number) => {
    const plane = new Float32Array(size * size);
    for (const idx of groups) {
      const pts = idx.map((i) => landmarks[i] as Point2);
      const cx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
      const cy = pts.reduce((a, p) => a + p[1], 0) / pts.length;
      const grown = pts.map(
        (p) => [(cx + (p[0] - cx) * grow + 0.5) * s - 0.5, (cy + (p[1] - cy) * grow + 0.5) * s - 0.5] as Point2,
      );
      fillConvexPolygon(convexHull(grown), size, size, plane);
    }
    return Uint8Array.from(plane, (v) => (v > 0 ? 255 : 0));
  };
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
  return { eyes: region([range(36, 41), range(42, 47)], 1.8), mouth: region([range(48, 59)], 1.2) };
}

/**
 * Decodes faces at `size` x `size` RGBA (a limited number of decodes in flight); for each face that carries
 * landmarks, with `regions` also its eye and mouth planes, with `landmarks` its landmarks in cache pixels.
 */
export async function loadFaces(
  files: readonly string[],
  size: number,
  onProgress?: (done: number) => void,
  extras: { regions?: boolean; landmarks?: boolean } = {},
): Promise<CachedFace[]> {
  const out: CachedFace[] = new Array(files.length);
  const fallback = defaultMask(size);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= files.length) return;
      const file = files[i] as string;
      let rgba: Buffer;
      let hasAlpha: boolean;
      let mask: Uint8Array = fallback;
      let planes: { eyes: Uint8Array; mouth: Uint8Array } | undefined;
      let landmarks: Float32Array | undefined;
      try {
        const img = sharp(file);
        const meta = await img.metadata();
        hasAlpha = meta.hasAlpha === true;
        const face = parseFacePngMeta(meta.comments?.find((c) => c.keyword === FACE_PNG_KEYWORD)?.text);
        // The face's own mask, best first: its painted mask, its segment mask (docs/masks.md), its landmark hull.
        const own = hasAlpha ? undefined : await maskBeside(file, size);
        if (own) mask = own;
        else if (!hasAlpha && face?.landmarks && meta.width) mask = landmarkFaceMask(face.landmarks, meta.width, size);
        if (extras.regions && face?.landmarks && meta.width) planes = landmarkRegions(face.landmarks, meta.width, size);
        if (extras.landmarks && face?.landmarks && meta.width) {
          const s = size / meta.width;
          // Crop pixels have their centres at integers: scale about the centre of pixel 0.
          landmarks = Float32Array.from(
            face.landmarks.flatMap((p) => [(p[0] + 0.5) * s - 0.5, (p[1] + 0.5) * s - 0.5]),
          );
        }
        rgba = await img.ensureAlpha().resize(size, size, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
      } catch (e) {
        throw new UserError(
          'bad-media',
          `${file}: not a readable image (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
          file,
        );
      }
      const data = new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength).slice();
      if (!hasAlpha) for (let p = 0; p < size * size; p++) data[p * 4 + 3] = mask[p] as number;
      out[i] = { rgba: data, size, ...planes, ...(landmarks ? { landmarks } : {}) };
      onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}

/** Cache size for a model: the output covers `coverage` of the cached face at the model's resolution. */
export function cacheSizeFor(modelSize: number, coverage: number): number {
  return Math.ceil(modelSize / coverage / 2) * 2;
}

/**
 * Links each face with landmarks to the `k` faces of the other side whose landmarks are nearest (mean point
 * distance), for the warp to landmarks (faceswap picks among the closest matches the same way).
 */
export function linkPartners(a: CachedFace[], b: CachedFace[], k = 10): void {
  const dist = (p: Float32Array, q: Float32Array) => {
    let s = 0;
    for (let i = 0; i < 136; i += 2)
      s += Math.hypot((p[i] as number) - (q[i] as number), (p[i + 1] as number) - (q[i + 1] as number));
    return s / 68;
  };
  const link = (from: CachedFace[], to: CachedFace[]) => {
    const pool = to.filter((f) => f.landmarks);
    for (const f of from) {
      if (!f.landmarks || pool.length === 0) continue;
      const own = f.landmarks;
      f.partners = pool
        .map((g) => ({ g, d: dist(own, g.landmarks as Float32Array) }))
        .sort((x, y) => x.d - y.d)
        .slice(0, k)
        .map((x) => x.g.landmarks as Float32Array);
    }
  };
  link(a, b);
  link(b, a);
}
