/**
 * The batch feeder thread: holds the decoded faces and prepares augmented batches on request, so the training
 * thread only trains.  in: { iteration }   out: { iteration, a, b } (buffers transferred).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CachedFace } from './augment';
import { batchMaker, type BatchPlan } from './batches';

const port = parentPort;
if (!port) throw new Error('feeder-worker.ts must run in a worker thread');
const data = workerData as { facesA: CachedFace[]; facesB: CachedFace[]; plan: BatchPlan };
const make = batchMaker(data.facesA, data.facesB, data.plan);
port.on('message', (m: { iteration: number } | { close: true }) => {
  if ('close' in m) {
    port.close();
    return;
  }
  const [a, b] = make(m.iteration);
  const buffers = [a.input, a.target, b.input, b.target, ...(a.mask ? [a.mask] : []), ...(b.mask ? [b.mask] : [])].map(
    (x) => x.buffer as ArrayBuffer,
  );
  port.postMessage({ iteration: m.iteration, a, b }, buffers);
});
