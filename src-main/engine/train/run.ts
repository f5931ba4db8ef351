/**
 * The `train` stage runner: validates the inputs, then trains off the main thread and forwards its progress, logs
 * and preview events: from the main thread (CLI) in a training worker (worker.ts, over worker-rpc); already in a
 * worker (a studio job runs in its stage worker) right there, so each message is relayed once. ctx.signal stops training cleanly: the
 * worker finishes the current step, saves and exits; runTrain then resolves with `stopped: true`.
 * The model folder is locked for the whole run (util/lock.ts: a second trainer on it gets a one-line error) and
 * swept of what an interrupted run left (model-io.ts sweepModelFolder).
 */
import { mkdir, rmdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { UserError } from '../../../src-shared/errors';
import type { TrainOptions } from '../../../src-shared/stages/train';
import type { StageContext } from '../stage';
import { userFacing } from '../util/atomic-write';
import { acquireLock, lockFileFor } from '../util/lock';
import { sweepModelFolder } from './model-io';
import { stepRequests } from './requests';
import type { PreviewEvent, TrainResult } from './trainer';
import { RpcWorker } from '../util/worker-rpc';
import type { TrainWorkerApi, TrainWorkerEvents } from './worker';

export type { PreviewEvent, TrainResult } from './trainer';

/** The stage context; its optional `preview` receives each preview grid (kind `train-grid`). */
export type TrainContext = StageContext;

export interface RunTrainExtras {
  /** Tests only: poison the loss of this iteration. */
  nanAt?: number;
  /** Run in this thread instead of a worker (debugging). */
  inline?: boolean;
}

export async function runTrain(
  options: TrainOptions,
  ctx: TrainContext,
  extras: RunTrainExtras = {},
): Promise<TrainResult> {
  if (ctx.signal.aborted) throw new UserError('cancelled', 'cancelled by the user');
  const modelDir = resolve(options.modelDir);
  const created = !(await stat(modelDir).then(
    () => true,
    () => false,
  ));
  try {
    await mkdir(modelDir, { recursive: true });
  } catch (e) {
    const err = userFacing(e, modelDir);
    throw err instanceof UserError
      ? err
      : new UserError('unwritable', `${modelDir}: cannot create the model folder (${(e as Error).message})`, modelDir);
  }
  const lock = await acquireLock(lockFileFor(modelDir, true), modelDir, { log: (m) => ctx.log('warn', m) });
  try {
    const swept = await sweepModelFolder(modelDir);
    if (swept.length)
      ctx.log(
        'info',
        `${modelDir}: removed ${swept.length} leftover file(s) of an interrupted run (${swept.join(', ')})`,
      );
    return await trainLocked(options, ctx, extras);
  } finally {
    await lock.release();
    // A folder this run made and left empty (it failed before its first save) is not left behind.
    if (created) await rmdir(modelDir).catch(() => undefined);
  }
}

async function trainLocked(options: TrainOptions, ctx: TrainContext, extras: RunTrainExtras): Promise<TrainResult> {
  // Already off the main thread (a studio job runs in a stage worker): train right here, so each message is
  // relayed once, not through a worker inside the worker.
  if (extras.inline || !isMainThread) {
    const { trainLoop } = await import('./trainer');
    const requests = stepRequests();
    const offRequest = ctx.onRequest?.((r) => requests.request(r));
    try {
      return await trainLoop(options, {
        progress: ctx.progress,
        log: ctx.log,
        preview: (e) => forwardPreview(ctx, e),
        shouldStop: () => ctx.signal.aborted,
        ...requests.hooks,
        ...(extras.nanAt !== undefined ? { nanAt: extras.nanAt } : {}),
      });
    } finally {
      offRequest?.();
    }
  }
  const worker = new RpcWorker<TrainWorkerApi, TrainWorkerEvents>(new URL('./worker.ts', import.meta.url), {
    name: 'training worker',
    onEvent: (name, data) => {
      if (name === 'progress') ctx.progress(data as TrainWorkerEvents['progress']);
      else if (name === 'log') {
        const l = data as TrainWorkerEvents['log'];
        ctx.log(l.level, l.message);
      } else if (name === 'preview') forwardPreview(ctx, data as TrainWorkerEvents['preview']);
    },
  });
  const onAbort = () => void worker.call('stop').catch(() => undefined);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  // "Save now" and "Preview now": done after the current step.
  const offRequest = ctx.onRequest?.((r) => {
    if (r === 'save') void worker.call('save').catch(() => undefined);
    if (r === 'preview') void worker.call('preview').catch(() => undefined);
  });
  try {
    return await worker.call('train', { options, ...(extras.nanAt !== undefined ? { nanAt: extras.nanAt } : {}) });
  } finally {
    offRequest?.();
    ctx.signal.removeEventListener('abort', onAbort);
    await worker.close();
  }
}

function forwardPreview(ctx: TrainContext, e: PreviewEvent): void {
  ctx.preview?.(e);
  ctx.log('debug', `preview ${e.path} (iteration ${e.iteration ?? '?'})`);
}
