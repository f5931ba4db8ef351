/**
 * Batches for the training loop, prepared in a feeder worker one iteration ahead (off the training thread);
 * falls back to preparing them inline if the worker cannot start. Either way the batches are identical.
 */
import { RpcWorker } from '../util/worker-rpc';
import type { Batch, CachedFace } from './augment';
import { batchMaker, type BatchPlan } from './batches';
import type { FeederInput, FeederWorkerApi } from './feeder-worker';

export interface BatchFeeder {
  /** The batch pair of `iteration` (0-based); prefetches the next one. */
  get(iteration: number): Promise<[Batch, Batch]>;
  close(): Promise<void>;
  readonly threaded: boolean;
}

export function inlineFeeder(
  facesA: readonly CachedFace[],
  facesB: readonly CachedFace[],
  plan: BatchPlan,
): BatchFeeder {
  const make = batchMaker(facesA, facesB, plan);
  return { get: (i) => Promise.resolve(make(i)), close: () => Promise.resolve(), threaded: false };
}

export function workerFeeder(
  facesA: readonly CachedFace[],
  facesB: readonly CachedFace[],
  plan: BatchPlan,
): BatchFeeder {
  const worker = new RpcWorker<FeederWorkerApi>(new URL('./feeder-worker.ts', import.meta.url), {
    name: 'batch feeder',
    data: { facesA, facesB, plan } satisfies FeederInput,
  });
  // The batch of each iteration, requested once; the next one is requested as soon as one is taken.
  const pending = new Map<number, Promise<[Batch, Batch]>>();
  const request = (iteration: number) => {
    let p = pending.get(iteration);
    if (!p) {
      p = worker.call('batch', iteration);
      p.catch(() => undefined);
      pending.set(iteration, p);
    }
    return p;
  };
  return {
    threaded: true,
    async get(iteration) {
      const batch = request(iteration);
      pending.delete(iteration);
      void request(iteration + 1);
      return batch;
    },
    async close() {
      pending.clear();
      await worker.close();
    },
  };
}
