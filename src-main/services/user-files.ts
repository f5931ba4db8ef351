/**
 * The user's media the GUI displays (thumbnails, previews, results), for the browser-mode `/file` route and
 * Electron's `fss-file:` protocol alike: only inside the allowed roots, only media types.
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { UserError } from '../../src-shared/errors';
import type { PathGuard } from './path-guard';

export const MEDIA_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.json': 'application/json',
};

/** The real path, type and size of a servable file; UserError 'outside-root' or 'not-found' otherwise. */
export async function resolveUserMedia(guard: PathGuard, path: string): Promise<{ file: string; type: string; size: number }> {
  const file = await guard.check(path);
  const type = MEDIA_TYPES[extname(file).toLowerCase()];
  const st = await stat(file).catch(() => undefined);
  if (!type || !st?.isFile()) throw new UserError('not-found', `${path}: not a media file`, path);
  return { file, type, size: st.size };
}
