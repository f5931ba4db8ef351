/**
 * What the job queue (main thread) and a stage worker thread exchange, over worker-rpc: one job per worker.
 * Calls: `run` (resolves with the stage's result, rejects with its error), `cancel`, `request` (Save now).
 * Events: progress, log, preview.
 */
import type { LogLevel, PreviewEvent, Progress } from '../../src-shared/progress';
import type { TfBackendChoice } from '../../src-shared/backends';

export type { StageWorkerApi } from './stage-worker';

/**
 * What a job runs with besides its options: the studio's settings, resolved when the job is queued and applied
 * inside its worker (never through the environment, which stays the CLI's: FSS_BACKEND, FSS_FFMPEG).
 */
export interface JobTools {
  /** The backend `--backend auto` stands for (the Settings view's choice); `auto` picks the fastest. */
  backend?: TfBackendChoice;
  /** The ffmpeg the user chose in the settings (first in the media engine's order). */
  ffmpegPath?: string;
}

export interface StageWorkerData {
  stageId: string;
  /** Already validated against the stage's schema. */
  options: unknown;
  /** The studio's settings for this job, applied in the worker before the stage runs. */
  tools: JobTools;
}

export interface StageWorkerEvents {
  [name: string]: unknown;
  progress: Progress;
  log: { level: LogLevel; message: string };
  preview: PreviewEvent;
}
