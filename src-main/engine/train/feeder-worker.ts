/**
 * The batch feeder thread: holds the decoded faces and prepares augmented batches on request (worker-rpc call
 * `batch`, buffers moved, not copied), so the training thread only trains.
 */
import { serve, transfer, workerInput } from '../util/worker-rpc';
import { batchBuffers, type Batch, type CachedFace } from './augment';
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
    return transfer([a, b], [...batchBuffers(a), ...batchBuffers(b)]);
  },
};

export type FeederWorkerApi = typeof handlers;

serve(handlers);
