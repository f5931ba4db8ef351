/**
 * The job queue as the renderer sees it: filled from `job:list`, then kept current by the job:* events. Also
 * keeps, per job, the latest preview image and the training metrics history (for the loss chart), so views can be
 * left and re-entered while a job runs.
 */
import type { Client } from '../api';
import type { AppEvent, JobInfo } from '../../../src-shared/ipc';
import type { PreviewEvent } from '../../../src-shared/progress';

export interface MetricPoint {
  iteration: number;
  lossA: number;
  lossB: number;
  t: number;
}

export interface PreviewState extends PreviewEvent {
  /** Bumped at each event: the same file is rewritten in place. */
  seq: number;
}

type FinishListener = (job: JobInfo) => void;

export const ACTIVE: ReadonlyArray<JobInfo['state']> = ['queued', 'running'];

export class JobsStore {
  jobs = $state<JobInfo[]>([]);
  previews = $state<Record<string, PreviewState>>({});
  metrics = $state<Record<string, MetricPoint[]>>({});
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- listeners, not state
  private finish = new Set<FinishListener>();
  private previewSeq = 0;

  constructor(readonly client?: Client) {}

  /** Subscribes to events and loads the current list. Returns the unsubscribe function. */
  connect(): () => void {
    if (!this.client) return () => {};
    const off = this.client.onEvent((e) => this.apply(e));
    void this.client.invoke('job:list', {}).then(({ jobs }) => {
      // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local lookup
      const known = new Set(this.jobs.map((j) => j.id));
      this.jobs = [...jobs.filter((j) => !known.has(j.id)), ...this.jobs].sort((a, b) => a.created - b.created);
    });
    return off;
  }

  onFinish(l: FinishListener): () => void {
    this.finish.add(l);
    return () => this.finish.delete(l);
  }

  get(id: string | undefined): JobInfo | undefined {
    return id === undefined ? undefined : this.jobs.find((j) => j.id === id);
  }

  /** The newest job of a stage (optionally only active ones). */
  latest(stage: string, activeOnly = false): JobInfo | undefined {
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      const j = this.jobs[i] as JobInfo;
      if (j.stage === stage && (!activeOnly || ACTIVE.includes(j.state))) return j;
    }
    return undefined;
  }

  get active(): JobInfo[] {
    return this.jobs.filter((j) => ACTIVE.includes(j.state));
  }

  async start(stage: string, options: Record<string, unknown>, title?: string): Promise<JobInfo> {
    if (!this.client) throw new Error('no client');
    const job = await this.client.invoke('job:start', { stage, options, ...(title ? { title } : {}) });
    this.upsert(job);
    return this.get(job.id) ?? job;
  }

  async cancel(id: string): Promise<void> {
    await this.client?.invoke('job:cancel', { jobId: id });
  }

  /** Asks a running job to save now (training saves after the current step). */
  async save(id: string): Promise<void> {
    await this.client?.invoke('job:request', { jobId: id, request: 'save' });
  }

  apply(e: AppEvent): void {
    if (e.type === 'job:queued') {
      this.upsert(e.job);
      return;
    }
    const job = this.get(e.jobId);
    if (!job) return;
    switch (e.type) {
      case 'job:started':
        job.state = 'running';
        job.started = Date.now();
        break;
      case 'job:progress': {
        job.progress = e.progress;
        const m = e.progress.metrics;
        if (m && typeof m.iteration === 'number' && (typeof m.lossA === 'number' || typeof m.lossB === 'number')) {
          const series = (this.metrics[job.id] ??= []);
          const last = series[series.length - 1];
          const point = { iteration: m.iteration, lossA: m.lossA ?? NaN, lossB: m.lossB ?? NaN, t: Date.now() };
          if (last && last.iteration === m.iteration) series[series.length - 1] = point;
          else series.push(point);
        }
        break;
      }
      case 'job:preview':
        this.previews[job.id] = { ...e.preview, seq: ++this.previewSeq };
        break;
      case 'job:log':
        job.logs.push({ level: e.level, message: e.message });
        if (job.logs.length > 500) job.logs.splice(0, job.logs.length - 500);
        break;
      case 'job:done':
        job.state = 'done';
        job.result = e.result;
        job.ended = Date.now();
        if (job.progress) job.progress = { ...job.progress, fraction: 1, etaMs: 0 };
        this.emitFinish(job);
        break;
      case 'job:failed':
        job.state = 'failed';
        job.error = e.error;
        job.ended = Date.now();
        this.emitFinish(job);
        break;
      case 'job:cancelled':
        job.state = 'cancelled';
        job.ended = Date.now();
        this.emitFinish(job);
        break;
    }
  }

  private upsert(job: JobInfo): void {
    const existing = this.get(job.id);
    if (existing)
      Object.assign(existing, { ...job, logs: existing.logs.length > job.logs.length ? existing.logs : job.logs });
    else this.jobs.push({ ...job, logs: [...job.logs] });
  }

  private emitFinish(job: JobInfo): void {
    const snapshot = $state.snapshot(job) as JobInfo;
    for (const l of this.finish) l(snapshot);
  }
}
