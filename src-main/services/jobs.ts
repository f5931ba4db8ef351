/**
 * The job queue: one queue, one job at a time on the compute device, each job in its own worker thread.
 * Every change is an AppEvent for the renderers (queued, started, progress, log, preview, done, failed,
 * cancelled). Cancel is cooperative (the stage checks its AbortSignal at each frame or batch; training saves
 * first); a worker that has not stopped `hardStopMs` after a cancel is terminated.
 */
import { randomUUID } from 'node:crypto';
import { parseOptions } from '../../src-shared/options';
import type { AppEvent, JobInfo } from '../../src-shared/ipc';
import type { AnyStageDef, AnyStageResult } from '../../src-shared/stages/index';
import { isUserError, UserError } from '../../src-shared/errors';
import { findStage } from '../engine/registry';
import type { StageRequest } from '../engine/stage';
import { RpcWorker } from '../engine/util/worker-rpc';
import type { JobTools, StageWorkerApi, StageWorkerData, StageWorkerEvents } from './stage-worker-protocol';

export type { JobTools };

const MAX_LOG_LINES = 500;

export interface JobQueueOptions {
  emit(e: AppEvent): void;
  /** How long a cancelled job may take to save and stop before its worker is terminated. */
  hardStopMs?: number;
}

interface JobRecord {
  info: JobInfo;
  def: AnyStageDef;
  options: unknown;
  tools: JobTools;
  worker?: RpcWorker<StageWorkerApi, StageWorkerEvents>;
  cancelRequested: boolean;
}

export class JobQueue {
  private readonly jobs = new Map<string, JobRecord>();
  private running: JobRecord | undefined;

  constructor(private readonly opts: JobQueueOptions) {}

  /**
   * Validates the options against the stage schema (a UserError names each bad option) and queues the job, to
   * run with `tools` (the settings).
   */
  enqueue(stageId: string, rawOptions: unknown, title?: string, tools: JobTools = {}): JobInfo {
    const stage = findStage(stageId);
    if (!stage) throw new UserError('bad-option', `unknown stage '${stageId}'`);
    const options = parseOptions(stage.def.options, rawOptions);
    const info: JobInfo = {
      id: randomUUID(),
      stage: stageId,
      title: title ?? stage.def.title,
      state: 'queued',
      created: Date.now(),
      logs: [],
      options: rawOptions as Record<string, unknown>,
    };
    this.jobs.set(info.id, { info, def: stage.def, options, tools, cancelRequested: false });
    this.opts.emit({ type: 'job:queued', job: info });
    this.pump();
    return info;
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => j.info);
  }

  get(id: string): JobInfo | undefined {
    return this.jobs.get(id)?.info;
  }

  cancel(id: string): void {
    const job = this.jobs.get(id);
    if (!job) throw new UserError('not-found', `no job ${id}`);
    if (job.info.state === 'queued') {
      this.finish(job, 'cancelled');
      return;
    }
    if (job.info.state !== 'running' || job.cancelRequested) return;
    job.cancelRequested = true;
    void job.worker?.call('cancel').catch(() => undefined);
    const timer = setTimeout(() => void job.worker?.close(), this.opts.hardStopMs ?? 120_000);
    timer.unref();
  }

  /** Passes a request (for example `save`) to a running job; stages that do not know it ignore it. */
  request(id: string, request: StageRequest): void {
    const job = this.jobs.get(id);
    if (!job) throw new UserError('not-found', `no job ${id}`);
    if (job.info.state !== 'running') throw new UserError('bad-option', `job ${id} is not running`);
    void job.worker?.call('request', request).catch(() => undefined);
  }

  /** Resolves when no job is queued or running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running || [...this.jobs.values()].some((j) => j.info.state === 'queued'))
      await new Promise((r) => setTimeout(r, 50));
  }

  /** Cancels everything and waits (shutdown). */
  async shutdown(): Promise<void> {
    for (const j of this.jobs.values())
      if (j.info.state === 'queued' || j.info.state === 'running') this.cancel(j.info.id);
    await this.idle();
  }

  private pump(): void {
    if (this.running) return;
    const next = [...this.jobs.values()].find((j) => j.info.state === 'queued');
    if (!next) return;
    this.running = next;
    next.info.state = 'running';
    next.info.started = Date.now();
    this.opts.emit({ type: 'job:started', jobId: next.info.id });
    const worker = new RpcWorker<StageWorkerApi, StageWorkerEvents>(new URL('./stage-worker.ts', import.meta.url), {
      name: 'job worker',
      data: { stageId: next.info.stage, options: next.options, tools: next.tools } satisfies StageWorkerData,
      onEvent: (name, data) => {
        if (name === 'progress') {
          next.info.progress = data as StageWorkerEvents['progress'];
          this.opts.emit({ type: 'job:progress', jobId: next.info.id, progress: next.info.progress });
        } else if (name === 'log') {
          const { level, message } = data as StageWorkerEvents['log'];
          next.info.logs.push({ level, message });
          if (next.info.logs.length > MAX_LOG_LINES) next.info.logs.shift();
          this.opts.emit({ type: 'job:log', jobId: next.info.id, level, message });
        } else if (name === 'preview') {
          this.opts.emit({ type: 'job:preview', jobId: next.info.id, preview: data as StageWorkerEvents['preview'] });
        }
      },
    });
    next.worker = worker;
    worker
      .call('run')
      .then(
        (result) => {
          // The result crosses to the studio as its stage's schema says (job:done), or the job fails as a bug.
          const checked = next.def.result.safeParse(result);
          if (!checked.success) {
            const issue = checked.error.issues[0];
            const message = `${next.info.stage} returned a result that does not match its schema (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`;
            console.error(`job ${next.info.id}: ${message}`);
            next.info.error = { code: 'internal', message };
            this.finish(next, 'failed');
            return;
          }
          next.info.result = checked.data as AnyStageResult;
          this.finish(next, next.cancelRequested ? 'cancelled' : 'done');
        },
        (e: Error) => {
          if (isUserError(e) ? e.code === 'cancelled' : next.cancelRequested) this.finish(next, 'cancelled');
          else {
            if (!isUserError(e))
              console.error(`job ${next.info.id} (${next.info.stage}) failed:`, e.stack ?? e.message);
            next.info.error = isUserError(e)
              ? { code: e.code, message: e.message }
              : { code: 'internal', message: e.message.split('\n')[0] ?? 'internal error' };
            this.finish(next, 'failed');
          }
        },
      )
      .finally(() => void worker.close());
  }

  private finish(job: JobRecord, state: 'done' | 'failed' | 'cancelled'): void {
    job.info.state = state;
    job.info.ended = Date.now();
    job.worker = undefined;
    if (this.running === job) this.running = undefined;
    const jobId = job.info.id;
    // A job is done only with a result its schema accepted (above).
    if (state === 'done') this.opts.emit({ type: 'job:done', jobId, result: job.info.result as AnyStageResult });
    else if (state === 'failed')
      this.opts.emit({ type: 'job:failed', jobId, error: job.info.error ?? { code: 'internal', message: 'failed' } });
    else this.opts.emit({ type: 'job:cancelled', jobId });
    setImmediate(() => this.pump());
  }
}
