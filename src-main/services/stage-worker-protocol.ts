/**
 * What the job queue (main thread) and a stage worker thread exchange, over worker-rpc: one job per worker.
 * Calls: `run` (resolves with the stage's result, rejects with its error), `cancel`, `request` (Save now).
 * Events: progress, log, preview.
 */
import type { LogLevel, PreviewEvent, Progress } from '../../src-shared/progress';

export type { StageWorkerApi } from './stage-worker';

export interface StageWorkerData {
  stageId: string;
  /** Already validated against the stage's schema. */
  options: unknown;
}

export interface StageWorkerEvents {
  [name: string]: unknown;
  progress: Progress;
  log: { level: LogLevel; message: string };
  preview: PreviewEvent;
}
