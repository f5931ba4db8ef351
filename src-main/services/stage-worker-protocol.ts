/**
 * The typed protocol between the job queue (main thread) and a stage worker thread. One job per worker;
 * the worker ends after `done` or `failed`.
 */
import type { LogLevel, PreviewEvent, Progress } from '../../src-shared/progress';
import type { StageRequest } from '../engine/stage';

export interface StageWorkerData {
  /** The worker module (file: URL) ts-worker.mjs imports. */
  entry: string;
  stageId: string;
  /** Already validated against the stage's schema. */
  options: unknown;
}

export type ToWorker = { type: 'cancel' } | { type: 'request'; request: StageRequest };

export type FromWorker =
  | { type: 'progress'; progress: Progress }
  | { type: 'log'; level: LogLevel; message: string }
  | { type: 'preview'; preview: PreviewEvent }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; error: { code: string; message: string; user: boolean } };
