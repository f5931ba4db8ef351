/**
 * Writes that never leave a half-written file in place of the user's work: data goes to a temporary file in
 * the same folder, is flushed, then renamed over the target (write-file-atomic). With `backup`, the previous
 * version is first kept as `<file>.bak` (models, alignments).
 */
import { copyFile, rename, stat } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';

export interface AtomicWriteOptions {
  /** Keep the file being replaced as `<path>.bak`. */
  backup?: boolean;
  /** fsync before the rename (default true); off for many small files that can be remade (aligned faces). */
  fsync?: boolean;
}

export async function writeFileAtomicSafe(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  if (opts.backup && (await exists(path))) {
    // Copy, not rename: the target must exist at every instant, so a crash right here leaves both files.
    await copyFile(path, `${path}.bak.tmp`);
    await rename(`${path}.bak.tmp`, `${path}.bak`);
  }
  await writeFileAtomic(path, typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength), { fsync: opts.fsync ?? true });
}

export async function writeJsonAtomic(path: string, value: unknown, opts: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomicSafe(path, `${JSON.stringify(value, null, 2)}\n`, opts);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
