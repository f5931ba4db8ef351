/**
 * A data-parallel gradient worker (see parallel.ts): owns a tfjs instance (its own wasm heap) with a replica of
 * the model. Per step: `grad` writes this worker's weighted share gradient into its slot of the shared gradient
 * buffer; `update` sums every slot, in slot order, over this worker's range of the parameters (into slot 0) and
 * runs Adam on that range of the shared weights and moments; `load` copies the shared weights into the replica.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { TrainOptions } from '../../../src-shared/stages/train';
import { loadTf, type TfBackendName } from '../tf/backend';
import { serve } from '../util/worker-rpc';
import { adamUpdate, type AdamConfig } from './adam';
import type { Batch } from './augment';
import { buildAutoencoder, type AutoencoderConfig, type FaceModel } from './models/index';
import { assignWeights } from './parallel';
import { batchGradients } from './trainer';

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
  /** slots x parameters float32: each worker's share gradient; after `update`, slot 0 holds their sum. */
  grads: SharedArrayBuffer;
  /** parameters float32 each, variable order: the weights and Adam's moments (shared by every worker). */
  weights: SharedArrayBuffer;
  m: SharedArrayBuffer;
  v: SharedArrayBuffer;
}

export interface GradShare {
  a: Batch;
  b: Batch;
  /** share / global batch. */
  weight: number;
  poison?: boolean;
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

  grad(share: GradShare): { lossA: number; lossB: number } {
    const s = state();
    const { tf, model, init, params } = s;
    const before = tf.memory().numTensors;
    const g = batchGradients(tf, model, share.a, share.b, init.loss, {
      weight: share.weight,
      poison: share.poison ?? false,
      splitSides: init.splitSides,
    });
    try {
      const slot = new Float32Array(init.grads, init.slot * params * 4, params);
      let o = 0;
      for (let i = 0; i < s.vars.length; i++) {
        const t = g.grads[i];
        const size = s.vars[i]?.size ?? 0;
        if (t) slot.set(t.dataSync() as Float32Array, o);
        else slot.fill(0, o, o + size);
        o += size;
      }
    } finally {
      tf.dispose(g.grads);
    }
    // A step leaves nothing behind but, the first time, the caches the losses keep (their SSIM windows).
    const kept = tf.memory().numTensors - before;
    if (s.cached === undefined) s.cached = kept;
    else if (kept !== 0) throw new Error(`gradient worker: a step leaked ${kept} tensors`);
    return { lossA: g.lossA, lossB: g.lossB };
  },

  /**
   * Over parameters [from, to): slot 0 += slot 1 + ... + slot (slots-1), in that order (float32: deterministic);
   * then, given Adam's step size, the Adam update of the shared weights and moments from that sum.
   */
  update(r: { from: number; to: number; slots: number; lrT?: number }): void {
    const { init, params } = state();
    const sum = new Float32Array(init.grads, 0, params);
    for (let s = 1; s < r.slots; s++) {
      const g = new Float32Array(init.grads, s * params * 4, params);
      for (let j = r.from; j < r.to; j++) sum[j] = (sum[j] as number) + (g[j] as number);
    }
    if (r.lrT === undefined) return;
    const w = new Float32Array(init.weights);
    adamUpdate(init.adam, r.lrT, sum, new Float32Array(init.m), new Float32Array(init.v), w, r.from, r.to);
  },

  /** The replica takes the shared weights (after every worker's `update`). */
  load(): void {
    const { tf, vars, init } = state();
    assignWeights(tf, vars, new Float32Array(init.weights));
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
