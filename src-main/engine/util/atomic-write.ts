/**
 * The one way user data is written (docs/reliability.md): the bytes go to a hidden temporary file in the same
 * folder (`.<name>.<pid>-<random>.tmp`), every byte is checked written, the file is fsynced, renamed over the
 * target, and the folder is fsynced, so the target always holds either its old or its new content in full.
 * On any failure the temporary file is removed; a full disk or a read-only place becomes a one-line UserError
 * that names the file. With `backup`, the version being replaced is kept as `<file>.bak` (a hard link: no copy,
 * so it cannot itself fail half-way on a full disk).
 *
 * Hand-written rather than write-file-atomic: that library neither fsyncs the folder after the rename nor lets
 * the reliability tests inject a full disk at a chosen write, and its temp names (`<file>.<hash>`) cannot be told
 * apart from the user's files by the start-up sweep (sweepTemps, below).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { enospcError, enospcFault, faultPoint } from './faults';

export interface AtomicWriteOptions {
  /** Keep the file being replaced as `<path>.bak`. */
  backup?: boolean;
  /** fsync before the rename (default true); off for many small files that can be remade (aligned faces). */
  fsync?: boolean;
}

/** Our temporary files: `.<target name>.<pid>-<hex>.tmp` (the pid tells the sweep whether its writer lives). */
export const TEMP_RE = /^\.(.+)\.(\d+)-[0-9a-f]+\.tmp$/;

export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomicSafe(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const sync = opts.fsync ?? true;
  const tmp = tempPathFor(path);
  let fh: FileHandle | undefined;
  try {
    const mode = await stat(path).then(
      (s) => s.mode & 0o7777,
      () => 0o666,
    );
    fh = await open(tmp, 'wx', mode);
    await writeAll(fh, bytes, path);
    if (sync) await fh.sync();
    await fh.close();
    fh = undefined;
    faultPoint('atomic:written');
    if (opts.backup) {
      await keepBackup(path);
      faultPoint('atomic:backup');
    }
    await rename(tmp, path);
    if (sync) await fsyncDir(dirname(path));
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await rm(tmp, { force: true }).catch(() => undefined);
    throw userFacing(e, path);
  }
}

export async function writeJsonAtomic(path: string, value: unknown, opts: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomicSafe(path, `${JSON.stringify(value, null, 2)}\n`, opts);
}

/** Writes `bytes` in full: a write that stops short is continued, one that moves nothing is a full disk. */
async function writeAll(fh: FileHandle, bytes: Uint8Array, path: string): Promise<void> {
  const end = enospcFault() ? bytes.byteLength >> 1 : bytes.byteLength;
  let off = 0;
  while (off < end) {
    const { bytesWritten } = await fh.write(bytes, off, end - off);
    if (bytesWritten <= 0) throw enospcError(path);
    off += bytesWritten;
  }
  if (end < bytes.byteLength) throw enospcError(path);
}

/** `<path>.bak` becomes the current `<path>` (if any): linked under a temp name, then renamed into place. */
async function keepBackup(path: string): Promise<void> {
  const bak = `${path}.bak`;
  const tmp = tempPathFor(bak);
  try {
    await link(path, tmp);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    // Filesystems without hard links (FAT, some network shares): a copy.
    await copyFile(path, tmp);
  }
  try {
    await rename(tmp, bak);
  } finally {
    // rename() of two links to one file does nothing (POSIX) and leaves `tmp`: when `.bak` already is `path`.
    await rm(tmp, { force: true }).catch(() => undefined);
  }
}

/** fsync a folder, so a rename in it survives a power cut (not possible on Windows: ignored there). */
export async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS']);

/** A full disk or an unwritable place as a one-line UserError naming the file; anything else as it is. */
export function userFacing(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code && DISK_FULL.has(code))
    return new UserError('unwritable', `${path}: disk full (${code}); the file was not written`, path);
  if (code && NOT_WRITABLE.has(code)) return new UserError('unwritable', `${path}: cannot write here (${code})`, path);
  return e;
}

/** When this process started (ms since the epoch); the same in every thread. */
export const processStart = Math.round(Date.now() - process.uptime() * 1000);

/** Whether a process with this id runs (on this machine). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether what process `pid` left (a temp file named with its pid) is a leftover once older than `processStart`:
 * that process is gone, or it is this pid (then an older file is a previous process's that had the same pid,
 * as in containers).
 */
export function writerGone(pid: number): boolean {
  return pid === process.pid || !pidAlive(pid);
}

/**
 * Removes what killed writers left in `dir`: our temporary files (TEMP_RE) older than this process whose writer
 * is gone, and those of the other patterns given (e.g. write-file-atomic's `<file>.<n>` of earlier versions).
 * Only files, only in `dir`, never recursive. Returns the names removed.
 */
export async function sweepTemps(dir: string, also: RegExp[] = []): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = TEMP_RE.exec(name);
    const ours = m !== null && writerGone(Number(m[2]));
    if (!ours && !also.some((re) => re.test(name))) continue;
    const p = join(dir, name);
    try {
      const st = await stat(p);
      if (!st.isFile() || st.mtimeMs >= processStart) continue;
      await rm(p, { force: true });
      removed.push(name);
    } catch {
      /* gone already */
    }
  }
  return removed;
}
