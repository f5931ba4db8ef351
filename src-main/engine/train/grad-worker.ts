/**
 * A data-parallel gradient worker (see parallel.ts): owns a tfjs instance (its own wasm heap) with a replica of
 * the model. Per step: `grad` writes this worker's weighted share gradient into its slot of the shared gradient
 * buffer; `update` sums every slot, in slot order, over this worker's range of the parameters (into slot 0) and
 * runs Adam on that range of the shared weights and moments; the next `grad` (with `load`) first copies the shared
 * weights into the replica.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { TrainOptions } from '../../../src-shared/stages/train';
import { loadTf, type TfBackendName } from '../tf/backend';
import { serve } from '../util/worker-rpc';
import { adamUpdate, type AdamConfig } from './adam';
import type { Batch } from './augment';
import { buildAutoencoder, type AutoencoderConfig, type FaceModel } from './models/index';
import { addSlots, assignWeights } from './parallel';
import { gradientTensors, shareLoss } from './trainer';

/** What builds a replica of the model and its training step: the same for the pool and each of its workers. */
export interface ReplicaSetup {
  config: AutoencoderConfig;
  backend: TfBackendName;
  seed: number;
  loss: TrainOptions['loss'];
  adam: AdamConfig;
  splitSides: boolean;
}

export interface GradInit extends ReplicaSetup {
  /** This worker's slot in `grads`. */
  slot: number;
  /**
   * slots x parameters float64: each worker's block of share gradients, added in float64 in share order; after
   * `update`, slot 0 holds the sum over the slots, rounded to float32 once.
   */
  grads: SharedArrayBuffer;
  /** parameters float32 each, variable order: the weights and Adam's moments (shared by every worker). */
  weights: SharedArrayBuffer;
  m: SharedArrayBuffer;
  v: SharedArrayBuffer;
}

/** A share's samples of side A, of side B, or of both (parallel.ts shareBatches). */
export interface GradShare {
  a?: Batch;
  b?: Batch;
  /** share / global batch. */
  weight: number;
}

/** A worker's block of consecutive shares of the global batch. */
export interface GradBlock {
  shares: GradShare[];
  poison?: boolean;
  /** Take the shared weights into the replica first (they changed since the last step). */
  load?: boolean;
}

/** A share's mean losses over its samples (absent for a side it does not hold) and its weight. */
export interface ShareLoss {
  lossA?: number;
  lossB?: number;
  weight: number;
}

interface State {
  tf: typeof TfCore;
  model: FaceModel;
  vars: TfCore.Variable[];
  init: GradInit;
  params: number;
  /** tf.memory().numTensors before the model was built. */
  baseline: number;
  /** Tensors the first step kept for the life of the thread (the losses' cached windows). */
  cached?: number;
}

/**
 * The wasm backend's view of a tensor's data on its heap (no copy: a worker reads the whole model's gradients
 * every step, 13 MB in lightweight and 328 MB in Original), or undefined on other backends.
 */
function heapView(tf: typeof TfCore): ((t: TfCore.Tensor) => Float32Array) | undefined {
  const be = tf.backend() as { typedArrayFromHeap?: (t: TfCore.Tensor) => Float32Array };
  return be.typedArrayFromHeap?.bind(be);
}

/**
 * One share's losses (one asynchronous read) and gradients, handed to `add` in variable order before they are
 * freed (views on the wasm heap there: `add` must not run tfjs ops).
 */
async function shareGradient(
  s: State,
  share: GradShare,
  poison: boolean,
  add: (values: Float32Array[]) => void,
): Promise<ShareLoss> {
  const { tf, model, init } = s;
  const t = gradientTensors(tf, model, {
    ...share,
    loss: init.loss,
    weight: share.weight,
    poison,
    splitSides: init.splitSides,
  });
  try {
    const view = heapView(tf);
    const [losses, ...values] = (await Promise.all([
      t.losses.data(),
      ...(view ? [] : t.grads.map((g) => g.data())),
    ])) as Float32Array[];
    add(view ? t.grads.map(view) : values);
    return shareLoss(share, losses ?? [], poison);
  } finally {
    tf.dispose([t.losses, ...t.grads]);
  }
}

let st: State | null = null;
const state = (): State => {
  if (!st) throw new Error('gradient worker: init first');
  return st;
};

const handlers = {
  async init(init: GradInit): Promise<{ backend: string; params: number }> {
    const { tf, backend } = await loadTf({ backend: init.backend, purpose: 'train' });
    const baseline = tf.memory().numTensors;
    const model = buildAutoencoder(tf, init.config, init.seed);
    const vars = [...model.params.vars.values()];
    assignWeights(tf, vars, new Float32Array(init.weights));
    const params = vars.reduce((n, v) => n + v.size, 0);
    st = { tf, model, vars, init, params, baseline };
    return { backend, params };
  },

  async grad(block: GradBlock): Promise<ShareLoss[]> {
    const s = state();
    const { tf, init, params } = s;
    const before = tf.memory().numTensors;
    const poison = block.poison ?? false;
    if (block.load) assignWeights(tf, s.vars, new Float32Array(init.weights));
    const slot = new Float64Array(init.grads, init.slot * params * 8, params);
    const out: ShareLoss[] = [];
    for (const [k, share] of block.shares.entries()) {
      const r = await shareGradient(s, share, poison, (values) => {
        let o = 0;
        for (let i = 0; i < s.vars.length; i++) {
          const x = values[i];
          const size = s.vars[i]?.size ?? 0;
          if (k === 0) {
            if (x) slot.set(x, o);
            else slot.fill(0, o, o + size);
          } else if (x) {
            for (let j = 0; j < size; j++) slot[o + j] = (slot[o + j] as number) + (x[j] as number);
          }
          o += size;
        }
      });
      out.push(r);
    }
    // A step leaves nothing behind but, the first time, the caches the losses keep (their SSIM windows).
    const kept = tf.memory().numTensors - before;
    if (s.cached === undefined) s.cached = kept;
    else if (kept !== 0) throw new Error(`gradient worker: a step leaked ${kept} tensors`);
    return out;
  },

  /**
   * Over parameters [from, to): slot 0 = slot 0 + slot 1 + ... (float64, in slot order, rounded to float32 once);
   * then, given Adam's step size, the Adam update of the shared weights and moments from that sum.
   */
  update(r: { from: number; to: number; slots: number; lrT?: number }): void {
    const { init, params } = state();
    const sum = new Float64Array(init.grads, 0, params);
    const slots = Array.from({ length: r.slots }, (_, k) => new Float64Array(init.grads, k * params * 8, params));
    addSlots(sum, slots, r.from, r.to);
    if (r.lrT === undefined) return;
    const w = new Float32Array(init.weights);
    adamUpdate(init.adam, r.lrT, sum, new Float32Array(init.m), new Float32Array(init.v), w, r.from, r.to);
  },

  /** Frees the replica; returns the tensors left over the baseline (0 unless something leaked). */
  finish(): { leaked: number } {
    if (!st) return { leaked: 0 };
    const { tf, model, baseline, cached = 0 } = st;
    model.dispose();
    st = null;
    return { leaked: tf.memory().numTensors - baseline - cached };
  },
};

export type GradWorkerApi = typeof handlers;

serve(handlers);
