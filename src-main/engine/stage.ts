/**
 * How the engine runs a stage: `run(options, ctx)` where ctx carries the AbortSignal (cooperative cancel,
 * checked at each frame or batch) and the progress/log callbacks. Shells (CLI, server, Electron) build the
 * context; the engine never prints.
 */
import type { LogLevel, Progress, StageReporter } from '../../src-shared/progress';
import { UserError } from '../../src-shared/errors';

/** Requests a running stage may honour besides cancel (the GUI's "Save now" and "Preview now" for training). */
export type StageRequest = 'save' | 'preview';

export interface StageContext extends StageReporter {
  signal: AbortSignal;
  /** Subscribes to requests from the user while the stage runs; returns the unsubscribe function. */
  onRequest?(listener: (request: StageRequest) => void): () => void;
}

/** A context that reports nothing and is never cancelled (tests, library use). */
export function quietContext(signal: AbortSignal = new AbortController().signal): StageContext {
  return { signal, progress: () => {}, log: () => {} };
}

/** A context that records everything it is told (tests check progress invariants with it). */
export function recordingContext(signal?: AbortSignal): StageContext & {
  events: Progress[];
  logs: Array<[LogLevel, string]>;
} {
  const events: Progress[] = [];
  const logs: Array<[LogLevel, string]> = [];
  return {
    signal: signal ?? new AbortController().signal,
    events,
    logs,
    progress: (p) => events.push(p),
    log: (level, message) => logs.push([level, message]),
  };
}

export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new UserError('cancelled', 'cancelled by the user');
}

/**
 * Runs `work` on `members` (a pool of workers, util/worker-rpc.ts `openPool`): a cancel closes them at once (their
 * pending calls fail) and is what this throws then; they are closed when the work ends, whichever way.
 */
export async function runClosing<R>(
  members: ReadonlyArray<{ close(): Promise<void> }>,
  signal: AbortSignal,
  work: () => Promise<R>,
): Promise<R> {
  const closeAll = () => Promise.all(members.map((m) => m.close()));
  const abort = () => void closeAll();
  signal.addEventListener('abort', abort, { once: true });
  try {
    return await work();
  } catch (e) {
    throwIfCancelled(signal);
    throw e;
  } finally {
    signal.removeEventListener('abort', abort);
    await closeAll();
  }
}
