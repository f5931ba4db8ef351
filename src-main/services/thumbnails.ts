/**
 * Small cached thumbnails of aligned faces for the Faces grid: a full aligned face is a 256 px PNG (~100 KB);
 * the grid needs ~100 px, so each face is resized once with sharp to a 128 px JPEG under the project's
 * `cache/thumbs/<side>/` and served from there (a few KB each). A thumbnail older than its face is remade.
 */
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Side } from '../../src-shared/formats/project';

export const THUMB_SIZE = 128;

export function thumbsDir(projectDir: string, side: Side): string {
  return join(projectDir, 'cache', 'thumbs', side);
}

/** The thumbnail file name of a face. */
export const thumbName = (face: string): string => face.replace(/\.[^.]+$/, '.jpg');

/**
 * Makes the missing (or stale) thumbnails of `names` in the faces folder `facesDir`; returns the thumbnail folder.
 * A face that cannot be read gets no thumbnail (the grid falls back to the face itself).
 */
export async function ensureThumbs(
  projectDir: string,
  side: Side,
  facesDir: string,
  names: readonly string[],
): Promise<string> {
  const dir = thumbsDir(projectDir, side);
  await mkdir(dir, { recursive: true });
  await Promise.all(
    names.map(async (name) => {
      const src = join(facesDir, name);
      const dst = join(dir, thumbName(name));
      const [s, d] = await Promise.all([stat(src).catch(() => undefined), stat(dst).catch(() => undefined)]);
      if (!s || (d && d.mtimeMs >= s.mtimeMs)) return;
      // A cache: temp + rename so a reader never sees half a file; no fsync needed (it is remade if lost).
      const tmp = `${dst}.${process.pid}.tmp`;
      try {
        await sharp(src).resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside' }).jpeg({ quality: 82 }).toFile(tmp);
        await rename(tmp, dst);
      } catch {
        // unreadable face: no thumbnail
      }
    }),
  );
  return dir;
}
