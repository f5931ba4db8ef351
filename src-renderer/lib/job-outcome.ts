/** How a job's state reads to the user: a stopped training run saved its model first, so it is not "cancelled". */
import type { JobInfo } from '../../src-shared/ipc';

export interface Outcome {
  /** Short state text: `running · Training`, `done`, `Stopped (saved at iteration 120)`... */
  text: string;
  /** CSS class of the bar: the job state, or `stopped` for a training run stopped after its save. */
  kind: JobInfo['state'] | 'stopped';
}

export function jobOutcome(job: Pick<JobInfo, 'state' | 'stage' | 'progress'>): Outcome {
  const p = job.progress;
  if (job.state === 'cancelled' && job.stage === 'train' && p?.title === 'Stopped') {
    const it = p.metrics?.iteration ?? p.done;
    return { text: it !== undefined ? `Stopped (saved at iteration ${it})` : 'Stopped (saved)', kind: 'stopped' };
  }
  if (job.state === 'running' && p) return { text: `running · ${p.title}`, kind: 'running' };
  return { text: job.state, kind: job.state };
}
