/** Runs one stage off the main thread, so a long or crashing job never blocks or takes down the studio. */
import { parentPort, workerData } from 'node:worker_threads';
import { isUserError } from '../../src-shared/errors';
import { findStage } from '../engine/registry';
import type { StageRequest } from '../engine/stage';
import type { FromWorker, StageWorkerData, ToWorker } from './stage-worker-protocol';

const port = parentPort;
if (!port) throw new Error('stage-worker must run in a worker thread');
const data = workerData as StageWorkerData;
const send = (m: FromWorker) => port.postMessage(m);
const controller = new AbortController();
const requestListeners = new Set<(r: StageRequest) => void>();
port.on('message', (m: ToWorker) => {
  if (m.type === 'cancel') controller.abort();
  else for (const l of requestListeners) l(m.request);
});

try {
  const stage = findStage(data.stageId);
  if (!stage) throw new Error(`unknown stage ${data.stageId}`);
  const run = await stage.load();
  const result = await run(data.options as never, {
    signal: controller.signal,
    progress: (progress) => send({ type: 'progress', progress }),
    log: (level, message) => send({ type: 'log', level, message }),
    preview: (preview) => send({ type: 'preview', preview }),
    onRequest: (listener) => {
      requestListeners.add(listener);
      return () => requestListeners.delete(listener);
    },
  });
  send({ type: 'done', result });
} catch (e) {
  send({
    type: 'failed',
    error: isUserError(e)
      ? { code: e.code, message: e.message, user: true }
      : { code: 'internal', message: e instanceof Error ? (e.stack ?? e.message) : String(e), user: false },
  });
} finally {
  port.close();
}
