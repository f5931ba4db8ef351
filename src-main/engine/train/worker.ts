/**
 * The training worker thread (CLI and library use; a studio job already runs in a stage worker and trains
 * there): trainLoop behind worker-rpc. Calls: `train` (resolves with the result), `stop` (finish the step,
 * save, return), `save` (save after the current step), `preview` (write the preview grid after the current step).
 * Events: progress, log, preview.
 */
import type { LogLevel, PreviewEvent, Progress } from '../../../src-shared/progress';
import type { TrainOptions } from '../../../src-shared/stages/train';
import { serve } from '../util/worker-rpc';
import { stepRequests } from './requests';
import { trainLoop, type TrainResult } from './trainer';

export interface TrainWorkerEvents {
  [name: string]: unknown;
  progress: Progress;
  log: { level: LogLevel; message: string };
  preview: PreviewEvent;
}

let stop = false;
const requests = stepRequests();

const handlers = {
  train({ options, nanAt }: { options: TrainOptions; nanAt?: number }): Promise<TrainResult> {
    return trainLoop(options, {
      progress: (progress) => emit('progress', progress),
      log: (level, message) => emit('log', { level, message }),
      preview: (preview) => emit('preview', preview),
      shouldStop: () => stop,
      ...requests.hooks,
      ...(nanAt !== undefined ? { nanAt } : {}),
    });
  },
  stop(): void {
    stop = true;
  },
  save(): void {
    requests.request('save');
  },
  preview(): void {
    requests.request('preview');
  },
};

export type TrainWorkerApi = typeof handlers;

const { emit } = serve<TrainWorkerApi, TrainWorkerEvents>(handlers);
