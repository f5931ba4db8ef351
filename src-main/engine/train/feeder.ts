/**
 * Batches for the training loop, prepared in a feeder worker one iteration ahead (off the training thread);
 * falls back to preparing them inline if the worker cannot start. Either way the batches are identical.
 */
import { Worker } from 'node:worker_threads';
import type { Batch, CachedFace } from './augment';
import { batchMaker, type BatchPlan } from './batches';

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
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
    workerData: { entry: 'feeder-worker', facesA, facesB, plan },
  });
  const pending = new Map<
    number,
    { resolve: (b: [Batch, Batch]) => void; reject: (e: unknown) => void; promise: Promise<[Batch, Batch]> }
  >();
  let failed: unknown = null;
  const request = (iteration: number) => {
    let p = pending.get(iteration);
    if (p) return p.promise;
    let resolve!: (b: [Batch, Batch]) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<[Batch, Batch]>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    p = { resolve, reject, promise };
    pending.set(iteration, p);
    if (failed) reject(failed);
    else worker.postMessage({ iteration });
    return promise;
  };
  const failAll = (e: unknown) => {
    failed = e;
    for (const p of pending.values()) p.reject(e);
  };
  worker.on('message', (m: { iteration: number; a: Batch; b: Batch }) => {
    const p = pending.get(m.iteration);
    if (p) p.resolve([m.a, m.b]);
  });
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('batch feeder exited')));
  return {
    threaded: true,
    async get(iteration) {
      const batch = await request(iteration);
      pending.delete(iteration);
      void request(iteration + 1);
      return batch;
    },
    async close() {
      pending.clear();
      await worker.terminate();
    },
  };
}
