/** Runs one stage off the main thread, so a long or crashing job never blocks or takes down the studio. */
import { configureMediaTools } from '../engine/media/ffmpeg';
import { findStage } from '../engine/registry';
import type { StageRequest } from '../engine/stage';
import { configureTfBackend } from '../engine/tf/setting';
import { serve, workerInput } from '../engine/util/worker-rpc';
import type { StageWorkerData, StageWorkerEvents } from './stage-worker-protocol';

const controller = new AbortController();
const requestListeners = new Set<(r: StageRequest) => void>();

const handlers = {
  async run(): Promise<unknown> {
    const data = workerInput<StageWorkerData>();
    const stage = findStage(data.stageId);
    if (!stage) throw new Error(`unknown stage ${data.stageId}`);
    // The studio's settings for this job (the environment is the CLI's, never changed by the studio).
    configureTfBackend(data.tools.backend);
    configureMediaTools({ ffmpegPath: data.tools.ffmpegPath });
    const run = await stage.load();
    return run(data.options as never, {
      signal: controller.signal,
      progress: (progress) => emit('progress', progress),
      log: (level, message) => emit('log', { level, message }),
      preview: (preview) => emit('preview', preview),
      onRequest: (listener) => {
        requestListeners.add(listener);
        return () => requestListeners.delete(listener);
      },
    });
  },
  cancel(): void {
    controller.abort();
  },
  request(r: StageRequest): void {
    for (const l of requestListeners) l(r);
  },
};

export type StageWorkerApi = typeof handlers;

const { emit } = serve<StageWorkerApi, StageWorkerEvents>(handlers);
