/**
 * Advisory lock files for what two processes must not work on at once (model folders, alignments files): a small
 * JSON file created with O_EXCL that names its owner (pid, host, when the owning process started). A second
 * process gets a one-line UserError naming the target and the pid; the lock of a process that is gone is taken
 * over (said in one log line).
 *
 * Hand-written rather than proper-lockfile: that library judges a lock stale by its age (the owner refreshes the
 * mtime on a timer, which a long synchronous training step or a suspended laptop can starve) and records no
 * owner, so it can neither tell the user which process holds a folder nor take over at once from one that died.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../../../src-shared/errors';
import { pidAlive, processStart, tempPathFor } from './atomic-write';

const lockSchema = z.object({ pid: z.int(), host: z.string(), processStart: z.number(), since: z.string() });
type LockInfo = z.output<typeof lockSchema>;

export interface HeldLock {
  readonly file: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Says that a stale lock was taken over. */
  log?(message: string): void;
}

/** `<folder>/.lock` for a model folder; `<file>.lock` beside an alignments file. */
export function lockFileFor(target: string, isFolder: boolean): string {
  return isFolder ? join(target, '.lock') : `${target}.lock`;
}

/**
 * Takes the lock `file` for `target` (the name the user knows, used in messages). Throws UserError 'locked'
 * while a live process holds it.
 */
export async function acquireLock(file: string, target: string, opts: LockOptions = {}): Promise<HeldLock> {
  const me: LockInfo = { pid: process.pid, host: hostname(), processStart, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(file, me)) return held(file, me);
    const owner = await readLock(file);
    if (owner === 'gone') continue; // released between our two calls
    if (owner && isLive(owner))
      throw new UserError(
        'locked',
        `${target}: in use by another process (pid ${owner.pid}${owner.host !== me.host ? ` on ${owner.host}` : ''}, since ${owner.since}); wait for it to finish or stop it`,
        target,
      );
    // Stale (or unreadable): moved aside under a name of our own, so only one of several takers wins. What was
    // moved is checked: if another taker had already replaced the stale lock with its own, that goes back.
    const aside = tempPathFor(file);
    try {
      await rename(file, aside);
    } catch {
      continue;
    }
    const moved = await readLock(aside);
    if (moved && moved !== 'gone' && (!owner || moved.pid !== owner.pid || moved.since !== owner.since)) {
      await rename(aside, file).catch(() => undefined);
      continue;
    }
    await rm(aside, { force: true });
    opts.log?.(
      owner
        ? `${target}: took over the lock of pid ${owner.pid}, which is no longer running`
        : `${target}: replaced an unreadable lock file ${file}`,
    );
  }
  throw new UserError('locked', `${target}: could not take the lock ${file} (another process keeps taking it)`, target);
}

async function tryCreate(file: string, me: LockInfo): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new UserError(
      'unwritable',
      `${file}: cannot create the lock file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      file,
    );
  }
  try {
    await fh.writeFile(JSON.stringify(me));
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(file, { force: true });
    throw new UserError(
      'unwritable',
      `${file}: cannot write the lock file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      file,
    );
  }
  await fh.close();
  return true;
}

/** The owner, 'gone' when there is no lock file, null when it cannot be read (a process killed mid-write). */
async function readLock(file: string): Promise<LockInfo | 'gone' | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : null;
  }
  try {
    return lockSchema.parse(JSON.parse(text));
  } catch {
    // Just created by a process that has not written it yet: give it a moment before calling it broken.
    await new Promise((r) => setTimeout(r, 200));
    try {
      return lockSchema.parse(JSON.parse(await readFile(file, 'utf8')));
    } catch {
      return null;
    }
  }
}

function isLive(owner: LockInfo): boolean {
  // Another machine (a shared folder): its processes cannot be checked from here, so it is assumed live.
  if (owner.host !== hostname()) return true;
  // Our own pid: another job of this process, unless the lock predates this process (a reused pid).
  if (owner.pid === process.pid) return Math.abs(owner.processStart - processStart) < 2000;
  return pidAlive(owner.pid);
}

function held(file: string, me: LockInfo): HeldLock {
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      // Only our own lock: never one another process took over meanwhile.
      const owner = await readLock(file);
      if (owner && owner !== 'gone' && owner.pid === me.pid && owner.since === me.since)
        await rm(file, { force: true });
    },
  };
}
