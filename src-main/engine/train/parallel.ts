/**
 * Every core trains: data-parallel gradient workers for the CPU backends.
 *
 * Why workers and not tfjs-wasm's threaded XNNPACK build (measured 2026-12-01, tfjs 4.22, Node 20): tfjs
 * disables threads under Node (`WASM_HAS_MULTITHREAD_SUPPORT` is false there, tfjs issue 3830); forcing it on,
 * the Emscripten glue tries to start its pthreads from a `blob:` URL, which Node's Worker rejects. With the
 * glue patched (worker script and main script written to files, Rollup's module aliases shimmed) the backend
 * starts, but `getThreadsCount()` stays 1 and a conv runs no faster. Data-parallel workers need no patched
 * glue, work on every CPU backend, and scale with the cores (each worker is a whole wasm instance: no thread
 * pool cap, no shared 32-bit heap).
 *
 * One step, N workers (each a grad-worker.ts with its own tfjs and a replica of the model):
 *  1. the global batch (the same samples and augmentation as a one-thread run: the feeder is unchanged) is cut
 *     into N shares (shareSpecs: by side first, A's samples then B's, when N is even); worker i computes the
 *     gradient of (share_i / batch) x its share's mean loss, so
 *     the shares' gradients sum to the global batch's mean-loss gradient, and writes it into slot i of a
 *     SharedArrayBuffer;
 *  2. each worker sums slot 0 + slot 1 + ... (always that order: the sum is deterministic) over its own range
 *     of the parameters and runs Adam on that range of the weights and moments, which live in SharedArrayBuffers too (so Adam's
 *     cost is split between the workers, and no worker holds a copy of its moments);
 *  3. each worker copies the new weights into its replica (at the start of its next `grad`).
 * The training thread holds the master model for saves and previews and copies the shared weights (and Adam's
 * moments, for saves) into it when it needs them. The steps are two calls per worker, not a spin barrier:
 * a worker that fails fails the step, it never hangs the others.
 */
import { availableParallelism, freemem } from 'node:os';
import type * as TfCore from '@tensorflow/tfjs-core';
import type { TfBackendName } from '../tf/backend';
import { RpcWorker } from '../util/worker-rpc';
import { adamStepSize, type Adam, type AdamConfig } from './adam';
import { batchBuffers, type Batch } from './augment';
import type { GradInit, GradShare, GradWorkerApi, ReplicaSetup, ShareLoss } from './grad-worker';
import type { FaceModel } from './models/index';

type Tf = typeof TfCore;

/**
 * Gradient workers for a run: the CPU backends train on every core (`requested` 0), GPU backends on one thread.
 * Each worker holds about eleven float32 copies of the parameters (weights, gradients, its float64 slot, Adam's
 * moments, temporaries) besides its activations, so by default no more workers start than fit in 60% of the free memory (a 32-core
 * machine and the 82 M-parameter Original: 32 x 3 GB would not fit).
 */
export function trainThreads(requested: number, backend: TfBackendName, params = 0): number {
  if (backend !== 'wasm' && backend !== 'cpu') return 1;
  if (requested > 0) return requested;
  const perWorker = params * 4 * 11;
  const fit = perWorker > 0 ? Math.floor((freemem() * 0.6) / perWorker) : Infinity;
  return Math.max(1, Math.min(availableParallelism(), fit));
}

/**
 * How many shares a global batch of `batch` is cut into on the CPU backends: the same whatever `--threads` is (up
 * to the core count), so that one thread and N gradient workers compute the very same share gradients and add
 * them the same way (float64, in share order): the loss history and the weights are then the same bit for bit
 * (float32 kernels group a share's samples in their own order, so a batch cut differently would differ in the
 * last bits, and MAE's sign gradients and Adam's first steps grow those). One share per worker when every core
 * trains; one thread on a multi-core machine computes the shares one after the other.
 */
export function gradientShares(batch: number, threads: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(batch, Math.max(threads, cores)));
}

/** Writes a model's weights, in variable order, into one array (one asynchronous read). */
export async function flatWeights(vars: readonly TfCore.Variable[]): Promise<Float32Array> {
  const out = new Float32Array(vars.reduce((n, v) => n + v.size, 0));
  const values = await Promise.all(vars.map((v) => v.data()));
  let o = 0;
  for (const x of values) {
    out.set(x as Float32Array, o);
    o += x.length;
  }
  return out;
}

/** The reverse of flatWeights. */
export function assignWeights(tf: Tf, vars: readonly TfCore.Variable[], flat: Float32Array): void {
  let o = 0;
  for (const v of vars) {
    const t = tf.tensor(flat.subarray(o, o + v.size), v.shape);
    v.assign(t);
    t.dispose();
    o += v.size;
  }
}

/** Rows [from, to) of each of `n` near-equal consecutive parts of `total` (the first parts one larger). */
export function split(total: number, n: number): Array<{ from: number; to: number }> {
  const base = Math.floor(total / n);
  const extra = total % n;
  const out: Array<{ from: number; to: number }> = [];
  let from = 0;
  for (let i = 0; i < n; i++) {
    const to = from + base + (i < extra ? 1 : 0);
    out.push({ from, to });
    from = to;
  }
  return out;
}

/**
 * One share of a step's batch pair: samples [from, to) of side A, of side B, or of both. Its gradient is that of
 * (share / batch) x the mean loss of each side it holds over its samples, so the shares' gradients sum to the
 * global batch's.
 */
export interface ShareSpec {
  side: 'a' | 'b' | 'both';
  from: number;
  to: number;
}

/**
 * The shares a global batch of `n` samples per side is cut into (`shares` from gradientShares).
 *
 * An even count cuts by side first: A's samples in `shares / 2` parts, then B's. Why: a share of both sides runs
 * each side's kernels at half the batch a plain step runs them at, and the kernels' fixed costs (the filter
 * gradient's parameter-sized output, an XNNPACK operator per call: docs/performance.md) do not halve with the
 * batch; lightweight's two workers then spent 1.14x one thread's CPU on a step. With one side per share, two
 * workers each run one side at the full batch, as the plain step does (the two sides' models are the same size,
 * so the workers stay balanced). An odd count (3 workers) cuts the samples, each share holding both sides.
 */
export function shareSpecs(n: number, shares: number): ShareSpec[] {
  if (shares >= 2 && shares % 2 === 0) {
    const parts = split(n, Math.min(shares / 2, n));
    return [...parts.map((s) => ({ side: 'a' as const, ...s })), ...parts.map((s) => ({ side: 'b' as const, ...s }))];
  }
  return split(n, Math.min(shares, n)).map((s) => ({ side: 'both' as const, ...s }));
}

/** A share's samples of a batch pair (copies: they cross to a worker) and its weight, share / global batch. */
export function shareBatches(a: Batch, b: Batch, s: ShareSpec): GradShare {
  return {
    ...(s.side !== 'b' ? { a: shareOf(a, s.from, s.to) } : {}),
    ...(s.side !== 'a' ? { b: shareOf(b, s.from, s.to) } : {}),
    weight: (s.to - s.from) / a.n,
  };
}

/** Samples [from, to) of a batch (copies: a share crosses to its worker). */
export function shareOf(b: Batch, from: number, to: number): Batch {
  const px = b.size * b.size;
  return {
    n: to - from,
    size: b.size,
    input: b.input.slice(from * px * 3, to * px * 3),
    target: b.target.slice(from * px * 3, to * px * 3),
    ...(b.mask ? { mask: b.mask.slice(from * px, to * px) } : {}),
    // The loss weighting travels with the samples (eye and mouth planes, the mask-weighted loss).
    ...(b.regions
      ? { regions: b.regions.map((r) => ({ plane: r.plane.slice(from * px, to * px), multiplier: r.multiplier })) }
      : {}),
    ...(b.maskLoss ? { maskLoss: true } : {}),
  };
}

/**
 * sum[j] = slots[0][j] + slots[1][j] + ... for j in [from, to): float64, in slot order, rounded to float32 once
 * (`sum` may be slots[0]).
 */
export function addSlots(sum: Float64Array, slots: readonly Float64Array[], from: number, to: number): void {
  const [a, b] = slots;
  if (slots.length === 2 && a && b) {
    // The common case (two workers) without the inner loop: 4x faster, the same sum (0 + a + b, rounded once).
    for (let j = from; j < to; j++) sum[j] = Math.fround(0 + (a[j] as number) + (b[j] as number));
    return;
  }
  const n = slots.length;
  for (let j = from; j < to; j++) {
    let t = 0;
    for (let k = 0; k < n; k++) t += (slots[k] as Float64Array)[j] as number;
    sum[j] = Math.fround(t);
  }
}

/**
 * The global batch's losses from its shares' (in share order; each share's loss weighted by its size; a share
 * without a side adds nothing to that side).
 */
export function combineLosses(shares: readonly ShareLoss[]): [number, number] {
  let la = 0;
  let lb = 0;
  for (const s of shares) {
    if (s.lossA !== undefined) la += s.weight * s.lossA;
    if (s.lossB !== undefined) lb += s.weight * s.lossB;
  }
  return [la, lb];
}

/** The pool's options that each worker needs to build its replica (the rest cannot cross to a worker). */
function replicaSetup(o: ReplicaSetup): ReplicaSetup {
  return { config: o.config, backend: o.backend, seed: o.seed, loss: o.loss, adam: o.adam, splitSides: o.splitSides };
}

export interface PoolOptions extends ReplicaSetup {
  threads: number;
  /** Shares per global batch (gradientShares): each worker computes a consecutive block of them. */
  shares: number;
  /** The state to start from: the master model and its optimizer (its moments and step). */
  model: FaceModel;
  optimizer: Adam;
}

export class GradientPool {
  private constructor(
    private readonly workers: Array<RpcWorker<GradWorkerApi>>,
    private readonly params: number,
    private readonly adam: AdamConfig,
    private updates: number,
    private readonly shares: number,
    /**
     * After `gradients`: the global batch's gradient, in variable order (slot 0 of the shared buffer, float64
     * holding float32 values: the sum rounded once).
     */
    readonly sum: Float64Array,
    private readonly weights: Float32Array,
    private readonly m: Float32Array,
    private readonly v: Float32Array,
  ) {}

  /** The shared weights changed since the replicas last loaded them (they load at the start of the next `grad`). */
  private stale = false;

  get threads(): number {
    return this.workers.length;
  }

  static async start(o: PoolOptions): Promise<GradientPool> {
    const vars = [...o.model.params.vars.values()];
    const params = vars.reduce((n, v) => n + v.size, 0);
    const shared = () => new Float32Array(new SharedArrayBuffer(params * 4));
    // One float64 slot per worker: its shares' gradients added in float64, so the sum does not depend on how the
    // shares are spread over the workers.
    const grads = new SharedArrayBuffer(o.threads * params * 8);
    const weights = shared();
    const m = shared();
    const v = shared();
    weights.set(await flatWeights(vars));
    const moments = await o.optimizer.exportMoments();
    m.set(moments.subarray(0, params));
    v.set(moments.subarray(params));
    const workers = Array.from(
      { length: o.threads },
      () => new RpcWorker<GradWorkerApi>(new URL('./grad-worker.ts', import.meta.url), { name: 'gradient worker' }),
    );
    const pool = new GradientPool(
      workers,
      params,
      o.adam,
      o.optimizer.step,
      o.shares,
      new Float64Array(grads, 0, params),
      weights,
      m,
      v,
    );
    try {
      await Promise.all(
        workers.map((w, slot) =>
          w.call('init', {
            ...replicaSetup(o),
            slot,
            grads,
            weights: weights.buffer as SharedArrayBuffer,
            m: m.buffer as SharedArrayBuffer,
            v: v.buffer as SharedArrayBuffer,
          } satisfies GradInit),
        ),
      );
    } catch (e) {
      await pool.close().catch(() => undefined);
      throw e;
    }
    return pool;
  }

  /**
   * The global batch's gradients, summed into `sum` (with `lrT`, Adam's update of the shared weights as well);
   * returns the two losses (mean over the global batch), NaN when a share's loss is not finite (then nothing
   * is summed or updated). The batch is cut into `shares` shares (shareSpecs) and each worker computes a
   * consecutive block of them, so the result does not depend on the number of workers.
   */
  async gradients(a: Batch, b: Batch, poison = false, lrT?: number): Promise<[number, number]> {
    const shares = shareSpecs(a.n, this.shares);
    const blocks = split(shares.length, this.workers.length).filter((k) => k.to > k.from);
    const results = await Promise.all(
      blocks.map((k, i) => {
        const block = shares.slice(k.from, k.to).map((s) => shareBatches(a, b, s));
        // The shares are copies made for this worker: moved to it, not cloned a second time.
        return (this.workers[i] as RpcWorker<GradWorkerApi>).call(
          'grad',
          { shares: block, poison, ...(this.stale ? { load: true } : {}) },
          block.flatMap((s) => [...(s.a ? batchBuffers(s.a) : []), ...(s.b ? batchBuffers(s.b) : [])]),
        );
      }),
    );
    // Every worker that computed has reloaded; one that did not (a batch smaller than the pool) reloads later.
    if (blocks.length === this.workers.length) this.stale = false;
    const [la, lb] = combineLosses(results.flat());
    if (!Number.isFinite(la) || !Number.isFinite(lb)) return [NaN, NaN];
    const ranges = split(this.params, this.workers.length);
    await Promise.all(
      this.workers.map((w, i) =>
        w.call('update', {
          ...(ranges[i] as { from: number; to: number }),
          slots: blocks.length,
          ...(lrT !== undefined ? { lrT } : {}),
        }),
      ),
    );
    return [la, lb];
  }

  /**
   * One training step: gradients, Adam on the shared weights. NaN: no update. The replicas take the new weights
   * at the start of the next step's `grad` (one round trip per step less than a separate `load`).
   */
  async step(a: Batch, b: Batch, poison = false): Promise<[number, number]> {
    const lrT = adamStepSize(this.adam, this.updates + 1);
    const l = await this.gradients(a, b, poison, lrT);
    if (!Number.isFinite(l[0]) || !Number.isFinite(l[1])) return l;
    this.updates += 1;
    this.stale = true;
    return l;
  }

  /** Copies the shared weights (and, with `optimizer`, Adam's moments and step) into the master model. */
  pull(tf: Tf, model: FaceModel, optimizer?: Adam): Promise<void> {
    assignWeights(tf, [...model.params.vars.values()], this.weights);
    if (optimizer) {
      const moments = new Float32Array(this.params * 2);
      moments.set(this.m);
      moments.set(this.v, this.params);
      optimizer.importMoments(moments, this.updates);
    }
    return Promise.resolve();
  }

  /** Frees the replicas and stops the workers; throws if a worker leaked tensors. */
  async close(): Promise<void> {
    const leaks = await Promise.all(this.workers.map((w) => w.call('finish').catch(() => ({ leaked: 0 }))));
    await Promise.all(this.workers.map((w) => w.close()));
    const bad = leaks.findIndex((l) => l.leaked !== 0);
    if (bad >= 0) throw new Error(`gradient worker ${bad} leaked ${leaks[bad]?.leaked} tensors`);
  }
}
