/**
 * Adam with its state in one of two places, same maths and same saved format:
 * - `device`: moments are tfjs variables on the backend (GPU backends, small models);
 * - `host`: weights' master copy and moments are Float32Arrays in JS memory, only gradients cross over. This
 *   keeps the wasm heap (32-bit, a few GiB at most) to weights + gradients + activations, which is what lets the
 *   full-size `original` train on wasm.
 * Update (Kingma & Ba, with the bias correction folded into the step size, as Keras/tfjs do):
 *   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  w -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps)
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { scheduleFactor, type LrSchedule } from './schedule';

type Tf = typeof TfCore;

export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** Warmup and decay of `learningRate` by step (schedule.ts); absent = constant. */
  schedule?: LrSchedule;
}

/** The step size of update number `step` (1-based): the scheduled rate with Adam's bias correction folded in. */
export function adamStepSize(config: AdamConfig, step: number): number {
  const { beta1: b1, beta2: b2 } = config;
  const lr = config.learningRate * scheduleFactor(config.schedule, step);
  return (lr * Math.sqrt(1 - b2 ** step)) / (1 - b1 ** step);
}

/**
 * The update on plain arrays (host mode, and each gradient worker's range of the parameters): m, v and w in
 * place, g read, elements [from, to).
 */
export function adamUpdate(
  config: AdamConfig,
  lrT: number,
  g: Float32Array | Float64Array,
  m: Float32Array,
  v: Float32Array,
  w: Float32Array,
  from = 0,
  to = g.length,
): void {
  const { beta1: b1, beta2: b2, epsilon: eps } = config;
  for (let j = from; j < to; j++) {
    const gj = g[j] as number;
    const mj = b1 * (m[j] as number) + (1 - b1) * gj;
    const vj = b2 * (v[j] as number) + (1 - b2) * gj * gj;
    m[j] = mj;
    v[j] = vj;
    w[j] = (w[j] as number) - (lrT * mj) / (Math.sqrt(vj) + eps);
  }
}

export class Adam {
  step = 0;
  private readonly names: string[];
  private readonly vars: TfCore.Variable[];
  private m: TfCore.Variable[] = [];
  private v: TfCore.Variable[] = [];
  private hm: Float32Array[] = [];
  private hv: Float32Array[] = [];
  private hw: Float32Array[] = [];

  constructor(
    private readonly tf: Tf,
    vars: Map<string, TfCore.Variable>,
    public config: AdamConfig,
    readonly mode: 'device' | 'host',
  ) {
    this.names = [...vars.keys()];
    this.vars = [...vars.values()];
    if (mode === 'device') {
      // tidy frees the zeros (the variables keep their own reference to the data).
      this.m = this.vars.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)));
      this.v = this.vars.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false)));
    } else {
      this.hm = this.vars.map((w) => new Float32Array(w.size));
      this.hv = this.vars.map((w) => new Float32Array(w.size));
      this.hw = this.vars.map((w) => w.dataSync() as Float32Array);
    }
  }

  /**
   * Applies one update with gradients in variable order (disposes nothing it did not create). In host mode
   * `values` are the gradients already read back (the training loop reads them with the losses, in one
   * asynchronous read); without them they are read synchronously (CPU backends only).
   */
  apply(grads: TfCore.Tensor[], values?: readonly Float32Array[]): void {
    const tf = this.tf;
    this.step += 1;
    const { beta1: b1, beta2: b2, epsilon: eps } = this.config;
    const lrT = adamStepSize(this.config, this.step);
    if (this.mode === 'device') {
      // One tidy per variable: temporaries of one update are freed before the next (peak memory ~ the largest
      // variable, not the whole model; this matters on the 32-bit wasm heap).
      for (let i = 0; i < this.vars.length; i++) {
        const g = grads[i];
        const m = this.m[i];
        const v = this.v[i];
        const w = this.vars[i];
        if (!g || !m || !v || !w) continue;
        tf.tidy(() => {
          const m2 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
          const v2 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
          m.assign(m2);
          v.assign(v2);
          w.assign(tf.sub(w, tf.mul(tf.div(m2, tf.add(tf.sqrt(v2), eps)), lrT)));
        });
      }
      return;
    }
    for (let i = 0; i < this.vars.length; i++) {
      const g = values ? values[i] : (grads[i]?.dataSync() as Float32Array | undefined);
      const m = this.hm[i];
      const v = this.hv[i];
      const w = this.hw[i];
      const variable = this.vars[i];
      if (!g || !m || !v || !w || !variable) continue;
      adamUpdate(this.config, lrT, g, m, v, w);
      const t = tf.tensor(w, variable.shape);
      variable.assign(t);
      t.dispose();
    }
  }

  /**
   * First moments then second moments, each in variable order, as one Float32Array (device moments read
   * asynchronously, all at once: webgpu cannot read synchronously under Node).
   */
  async exportMoments(): Promise<Float32Array> {
    const total = this.vars.reduce((a, w) => a + w.size, 0);
    const out = new Float32Array(total * 2);
    const parts =
      this.mode === 'device'
        ? ((await Promise.all([...this.m, ...this.v].map((t) => t.data()))) as Float32Array[])
        : [...this.hm, ...this.hv];
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  importMoments(data: Float32Array, step: number): void {
    const tf = this.tf;
    const total = this.vars.reduce((a, w) => a + w.size, 0);
    if (data.length !== total * 2) throw new Error(`optimizer state has ${data.length} values, expected ${total * 2}`);
    let o = 0;
    for (const half of [0, 1]) {
      for (let i = 0; i < this.vars.length; i++) {
        const w = this.vars[i];
        if (!w) continue;
        const part = data.slice(o, o + w.size);
        o += w.size;
        if (this.mode === 'device') {
          const t = tf.tensor(part, w.shape);
          (half === 0 ? this.m[i] : this.v[i])?.assign(t);
          t.dispose();
        } else {
          (half === 0 ? this.hm : this.hv)[i] = part;
        }
      }
    }
    if (this.mode === 'host') this.hw = this.vars.map((w) => w.dataSync() as Float32Array);
    this.step = step;
  }

  /** Re-reads the weights after they were set from outside (load, restore). */
  syncWeights(): void {
    if (this.mode === 'host') this.hw = this.vars.map((w) => w.dataSync() as Float32Array);
  }

  get variableNames(): readonly string[] {
    return this.names;
  }

  dispose(): void {
    for (const t of [...this.m, ...this.v]) t.dispose();
    this.m = [];
    this.v = [];
    this.hm = [];
    this.hv = [];
    this.hw = [];
  }
}
