/**
 * Training faces: every aligned face image of a folder (the curated extract output: faces the user deleted are
 * simply not there), decoded once with sharp into RGBA at the cache size and kept in memory for the session.
 * An image without alpha gets its mask from the landmarks in its PNG metadata (the extended face hull, see
 * face/face-mask.ts), or, for faces without them, the default ellipse over the face area, so the masked trainer
 * always has a target.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import { FACE_PNG_KEYWORD, parseFacePngMeta } from '../../../src-shared/formats/face-png';
import { landmarkFaceMask } from '../face/face-mask';
import type { CachedFace } from './augment';

const IMAGE_RE = /\.(png|jpe?g|webp)$/i;

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
    .filter((n) => IMAGE_RE.test(n))
    .sort()
    .map((n) => join(dir, n));
  if (files.length === 0) throw new UserError('no-images', `${dir}: no face images (png/jpg) in this folder`, dir);
  return files;
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

/** Decodes faces at `size` x `size` RGBA (a limited number of decodes in flight). */
export async function loadFaces(
  files: readonly string[],
  size: number,
  onProgress?: (done: number) => void,
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
      try {
        const img = sharp(file);
        const meta = await img.metadata();
        hasAlpha = meta.hasAlpha === true;
        const face = parseFacePngMeta(meta.comments?.find((c) => c.keyword === FACE_PNG_KEYWORD)?.text);
        if (!hasAlpha && face?.landmarks && meta.width) mask = landmarkFaceMask(face.landmarks, meta.width, size);
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
      out[i] = { rgba: data, size };
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
