/**
 * A data-parallel gradient worker (see parallel.ts): owns a tfjs instance (its own wasm heap) with a replica of
 * the model and of Adam. Per step: `grad` writes this worker's weighted share gradient into its slot of the
 * shared gradient buffer; `reduce` sums every slot, in slot order, over this worker's range of the parameters
 * into the shared sum buffer; `apply` runs Adam on the replica from the sum. Every replica applies the same
 * update to the same weights with the same code, so they stay bit-identical without copying weights around.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { TrainOptions } from '../../../src-shared/stages/train';
import { loadTf, type TfBackendName } from '../tf/backend';
import { serve, transfer } from '../util/worker-rpc';
import { Adam, type AdamConfig } from './adam';
import type { Batch } from './augment';
import { buildAutoencoder, type AutoencoderConfig, type FaceModel } from './models/index';
import { assignWeights, flatWeights } from './parallel';
import { batchGradients } from './trainer';

export interface GradInit {
  config: AutoencoderConfig;
  backend: TfBackendName;
  seed: number;
  loss: TrainOptions['loss'];
  adam: AdamConfig;
  adamMode: 'device' | 'host';
  splitSides: boolean;
  /** This worker's slot in `grads`. */
  slot: number;
  /** slots x parameters float32. */
  grads: SharedArrayBuffer;
  /** parameters float32. */
  sum: SharedArrayBuffer;
  /** Start state: weights (variable order, concatenated), Adam moments and step. */
  weights: Float32Array;
  moments: Float32Array;
  step: number;
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
  adam: Adam;
  vars: TfCore.Variable[];
  init: GradInit;
  params: number;
  /** tf.memory().numTensors before the model was built. */
  baseline: number;
  /** Tensors the first step kept for the life of the thread (the losses' cached windows), then per step. */
  cached?: number;
}

let st: State | null = null;
const state = (): State => {
  if (!st) throw new Error('gradient worker: init first');
  return st;
};

const handlers = {
  async init(init: GradInit): Promise<{ backend: string; params: number }> {
    const { tf, backend } = await loadTf({ backend: init.backend });
    const baseline = tf.memory().numTensors;
    const model = buildAutoencoder(tf, init.config, init.seed);
    const vars = [...model.params.vars.values()];
    assignWeights(tf, vars, init.weights);
    const adam = new Adam(tf, model.params.vars, init.adam, init.adamMode);
    adam.importMoments(init.moments, init.step);
    const params = vars.reduce((n, v) => n + v.size, 0);
    st = { tf, model, adam, vars, init, params, baseline };
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

  /** sum[from..to) = slot 0 + slot 1 + ... + slot (slots-1), in that order (float32, deterministic). */
  reduce(r: { from: number; to: number; slots: number }): void {
    const { init, params } = state();
    const sum = new Float32Array(init.sum, r.from * 4, r.to - r.from);
    const first = new Float32Array(init.grads, r.from * 4, r.to - r.from);
    sum.set(first);
    for (let s = 1; s < r.slots; s++) {
      const g = new Float32Array(init.grads, (s * params + r.from) * 4, r.to - r.from);
      for (let j = 0; j < g.length; j++) sum[j] = (sum[j] as number) + (g[j] as number);
    }
  },

  apply(): void {
    const { tf, adam, vars, init } = state();
    const sum = new Float32Array(init.sum);
    let o = 0;
    const grads = vars.map((v) => {
      const t = tf.tensor(sum.subarray(o, o + v.size), v.shape);
      o += v.size;
      return t;
    });
    try {
      adam.apply(grads);
    } finally {
      tf.dispose(grads);
    }
  },

  /** The replica's weights (and Adam's moments), for saves and previews on the training thread. */
  export(o: { moments: boolean }): { weights: Float32Array; moments?: Float32Array; step: number } {
    const { adam, vars } = state();
    const weights = flatWeights(vars);
    const moments = o.moments ? adam.exportMoments() : undefined;
    return transfer(
      { weights, step: adam.step, ...(moments ? { moments } : {}) },
      [weights.buffer as ArrayBuffer, ...(moments ? [moments.buffer as ArrayBuffer] : [])],
    );
  },

  /** Frees the replica; returns the tensors left over the baseline (0 unless something leaked). */
  finish(): { leaked: number } {
    if (!st) return { leaked: 0 };
    const { tf, adam, model, baseline, cached = 0 } = st;
    adam.dispose();
    model.dispose();
    st = null;
    return { leaked: tf.memory().numTensors - baseline - cached };
  },
};

export type GradWorkerApi = typeof handlers;

serve(handlers);
