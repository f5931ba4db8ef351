/**
 * The user's media the GUI displays (thumbnails, previews, results), for the browser-mode `/file` route and
 * Electron's `fss-file:` protocol alike: only inside the allowed roots, only media types.
 */
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { UserError } from '../../src-shared/errors';
import { openRange, planRangedReply } from './file-range';
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
export async function resolveUserMedia(
  guard: PathGuard,
  path: string,
): Promise<{ file: string; type: string; size: number }> {
  const file = await guard.check(path);
  const type = MEDIA_TYPES[extname(file).toLowerCase()];
  const st = await stat(file).catch(() => undefined);
  if (!type || !st?.isFile()) throw new UserError('not-found', `${path}: not a media file`, path);
  return { file, type, size: st.size };
}

/**
 * The answer to a fetch-style request for the user's media, `fss-file://local/?path=...` (Electron's protocol
 * handler): the file or the byte range asked for, as the browser-mode `/file` route serves it; 404 otherwise.
 */
export async function mediaResponse(guard: PathGuard, req: Request): Promise<Response> {
  let media: Awaited<ReturnType<typeof resolveUserMedia>>;
  try {
    media = await resolveUserMedia(guard, new URL(req.url).searchParams.get('path') ?? '');
  } catch {
    return new Response('not found', { status: 404 });
  }
  const plan = planRangedReply(req.headers.get('range') ?? undefined, media.size, media.type);
  const body = req.method === 'HEAD' ? undefined : openRange(media.file, plan);
  return new Response(body ? (Readable.toWeb(body) as ReadableStream<Uint8Array>) : null, {
    status: plan.status,
    headers: plan.headers,
  });
}
