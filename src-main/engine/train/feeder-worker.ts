/**
 * The batch feeder thread: holds the decoded faces and prepares augmented batches on request (worker-rpc call
 * `batch`, buffers moved, not copied), so the training thread only trains.
 */
import { serve, transfer, workerInput } from '../util/worker-rpc';
import type { Batch, CachedFace } from './augment';
import { batchMaker, type BatchPlan } from './batches';

export interface FeederInput {
  facesA: readonly CachedFace[];
  facesB: readonly CachedFace[];
  plan: BatchPlan;
}

const data = workerInput<FeederInput>();
const make = batchMaker(data.facesA, data.facesB, data.plan);

const handlers = {
  batch(iteration: number): [Batch, Batch] {
    const [a, b] = make(iteration);
    const buffers = [a.input, a.target, b.input, b.target, ...(a.mask ? [a.mask] : []), ...(b.mask ? [b.mask] : [])];
    return transfer(
      [a, b],
      buffers.map((x) => x.buffer as ArrayBuffer),
    );
  },
};

export type FeederWorkerApi = typeof handlers;

serve(handlers);
