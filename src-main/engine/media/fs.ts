/** File-system helpers of the media engine: input checks, content hashes, folders. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UserError } from '../../../src-shared/errors';

/**
 * `mkdir -p` that always terminates: Node's recursive mkdir can spin forever where mkdir fails with ENOENT
 * under an existing parent (procfs, some network file systems). Throws the underlying errno error.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw e;
    }
    if (code !== 'ENOENT') throw e;
    const parent = dirname(dir);
    if (parent === dir) throw e;
    await ensureDir(parent);
    await mkdir(dir); // a second ENOENT now is final
  }
}

/** Checks that `path` is an existing, readable, non-empty file; returns its stat. */
export async function checkInputFile(path: string, what = 'a video file'): Promise<{ size: number; mtimeMs: number }> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UserError('not-found', `${path}: no such file`, path);
    throw new UserError('bad-media', `${path}: cannot be read (${code ?? (e as Error).message})`, path);
  }
  if (st.isDirectory()) throw new UserError('not-a-file', `${path}: is a folder, not ${what}`, path);
  if (!st.isFile()) throw new UserError('not-a-file', `${path}: is not a regular file`, path);
  if (st.size === 0) throw new UserError('bad-media', `${path}: empty file (0 bytes), not ${what}`, path);
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** SHA-256 of a file's bytes (hex), streamed: identifies a source independently of its name. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  await checkInputFile(path, 'a file');
  const hash = createHash('sha256');
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const onAbort = () => stream.destroy(new UserError('cancelled', 'cancelled by the user'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return hash.digest('hex');
}
