/**
 * The training worker thread: runs trainLoop and talks to runTrain by messages.
 *   in:  { type: 'stop' } | { type: 'save' }
 *   out: { type: 'progress', progress } | { type: 'log', level, message } | { type: 'preview', preview }
 *        | { type: 'done', result } | { type: 'error', error: { message, code?, file?, user: boolean, stack? } }
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isUserError } from '../../../src-shared/errors';
import type { LogLevel, PreviewEvent, Progress } from '../../../src-shared/progress';
import type { TrainOptions } from '../../../src-shared/stages/train';
import { trainLoop, type TrainResult } from './trainer';

export type WorkerInMessage = { type: 'stop' } | { type: 'save' };
export type WorkerOutMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'log'; level: LogLevel; message: string }
  | { type: 'preview'; preview: PreviewEvent }
  | { type: 'done'; result: TrainResult }
  | { type: 'error'; error: { message: string; code?: string; file?: string; user: boolean; stack?: string } };

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const data = workerData as { options: TrainOptions; nanAt?: number };
let stop = false;
let saveRequested = false;
port.on('message', (m: WorkerInMessage) => {
  if (m.type === 'stop') stop = true;
  else saveRequested = true;
});
const post = (m: WorkerOutMessage) => port.postMessage(m);

try {
  const result = await trainLoop(data.options, {
    progress: (progress) => post({ type: 'progress', progress }),
    log: (level, message) => post({ type: 'log', level, message }),
    preview: (preview) => post({ type: 'preview', preview }),
    shouldStop: () => stop,
    takeSaveRequest: () => {
      const r = saveRequested;
      saveRequested = false;
      return r;
    },
    ...(data.nanAt !== undefined ? { nanAt: data.nanAt } : {}),
  });
  post({ type: 'done', result });
} catch (e) {
  const user = isUserError(e);
  const err = e as { message?: string; code?: string; file?: string; stack?: string };
  post({
    type: 'error',
    error: {
      message: err.message ?? String(e),
      user,
      ...(user && err.code ? { code: err.code } : {}),
      ...(err.file ? { file: err.file } : {}),
      ...(err.stack ? { stack: err.stack } : {}),
    },
  });
}
port.close();
