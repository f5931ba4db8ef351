/**
 * The building blocks of the classic faceswap models on raw tfjs ops (no tfjs-layers: the same code runs on
 * every backend, and the weights are plain named variables that save/restore and the optimizer walk in order).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { Rng } from '../rng';

type Tf = typeof TfCore;
export type T4 = TfCore.Tensor4D;

export class Params {
  /** Variables by stable key, in creation order (the save order). */
  readonly vars = new Map<string, TfCore.Variable>();
  constructor(
    readonly tf: Tf,
    private readonly rng: Rng,
  ) {}

  private add(key: string, shape: number[], limit: number): TfCore.Variable {
    if (this.vars.has(key)) throw new Error(`duplicate parameter ${key}`);
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (limit > 0) for (let i = 0; i < n; i++) data[i] = (this.rng.next() * 2 - 1) * limit;
    // tidy frees the initial tensor (a variable keeps its own reference to the data).
    const v = this.tf.tidy(() => this.tf.variable(this.tf.tensor(data, shape), true));
    this.vars.set(key, v);
    return v;
  }

  /** A conv kernel [k,k,cin,cout] (He-uniform, for LeakyReLU; Glorot for outputs) and its bias. */
  conv(key: string, k: number, cin: number, cout: number, init: 'he' | 'glorot' = 'he'): void {
    const fanIn = k * k * cin;
    const fanOut = k * k * cout;
    const limit = init === 'he' ? Math.sqrt(6 / fanIn) : Math.sqrt(6 / (fanIn + fanOut));
    this.add(`${key}/kernel`, [k, k, cin, cout], limit);
    this.add(`${key}/bias`, [cout], 0);
  }

  dense(key: string, nin: number, nout: number): void {
    this.add(`${key}/kernel`, [nin, nout], Math.sqrt(6 / (nin + nout)));
    this.add(`${key}/bias`, [nout], 0);
  }

  get(key: string): TfCore.Variable {
    const v = this.vars.get(key);
    if (!v) throw new Error(`missing parameter ${key}`);
    return v;
  }

  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** conv + bias, optionally LeakyReLU(0.1). `same` padding. */
export function conv(
  p: Params,
  key: string,
  x: T4,
  stride: number,
  act: 'leaky' | 'linear' | 'sigmoid',
  first = false,
): T4 {
  const tf = p.tf;
  // The fused conv's gradient computes dx eagerly: on the model input (no gradient needed) use conv + bias.
  const y: T4 = first
    ? tf.add<T4>(tf.conv2d(x, p.get(`${key}/kernel`) as unknown as T4, stride, 'same'), p.get(`${key}/bias`))
    : tf.fused.conv2d({
        x,
        filter: p.get(`${key}/kernel`) as unknown as T4,
        bias: p.get(`${key}/bias`),
        strides: stride,
        pad: 'same',
      });
  if (act === 'leaky') return tf.leakyRelu(y, 0.1) as T4;
  if (act === 'sigmoid') return tf.sigmoid(y) as T4;
  return y;
}

export function dense(p: Params, key: string, x: TfCore.Tensor2D): TfCore.Tensor2D {
  return p.tf.fused.matMul({
    a: x,
    b: p.get(`${key}/kernel`) as unknown as TfCore.Tensor2D,
    bias: p.get(`${key}/bias`),
  }) as TfCore.Tensor2D;
}

/** Faceswap's UpscaleBlock: 3x3 conv to 4x the filters, LeakyReLU 0.1, PixelShuffle (depth-to-space 2). */
export function upscale(p: Params, key: string, x: T4): T4 {
  return p.tf.depthToSpace(conv(p, key, x, 1, 'leaky'), 2, 'NHWC') as T4;
}

/** FLOPs (multiply-adds x 2) of a `same` conv producing an h x w x cout map. */
export function convFlops(h: number, w: number, k: number, cin: number, cout: number): number {
  return 2 * h * w * k * k * cin * cout;
}
