/** Reconstruction losses (MAE, DSSIM, both) and an SSIM measure for evaluation. */
import type * as TfCore from '@tensorflow/tfjs-core';

type Tf = typeof TfCore;
type T4 = TfCore.Tensor4D;

const windows = new Map<string, TfCore.Tensor4D>();

/** 11x11 Gaussian (sigma 1.5) window as a [11,11,1,1] conv filter, cached per backend. */
function gaussian(tf: Tf): T4 {
  const key = tf.getBackend();
  let w = windows.get(key);
  if (!w || w.isDisposed) {
    const k = 11;
    const g: number[] = [];
    for (let i = 0; i < k; i++) g.push(Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
    const s = g.reduce((a, b) => a + b, 0);
    const data = new Float32Array(k * k);
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) data[i * k + j] = ((g[i] ?? 0) * (g[j] ?? 0)) / (s * s);
    w = tf.keep(tf.tensor4d(data, [k, k, 1, 1]));
    windows.set(key, w);
  }
  return w;
}

/** Mean SSIM over the batch (per channel, Gaussian window, valid region), images in 0..1: a scalar. */
export function ssim(tf: Tf, a: T4, b: T4): TfCore.Scalar {
  return tf.tidy(() => {
    const [n, h, w, c] = a.shape;
    const toPlanes = (x: T4) => tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n * c, h, w, 1]) as T4;
    const x = toPlanes(a);
    const y = toPlanes(b);
    const win = gaussian(tf);
    const blur = (t: T4) => tf.conv2d(t, win, 1, 'valid');
    const mx = blur(x);
    const my = blur(y);
    const sxx = tf.sub(blur(tf.mul(x, x)), tf.mul(mx, mx));
    const syy = tf.sub(blur(tf.mul(y, y)), tf.mul(my, my));
    const sxy = tf.sub(blur(tf.mul(x, y)), tf.mul(mx, my));
    const c1 = 0.01 ** 2;
    const c2 = 0.03 ** 2;
    const num = tf.mul(tf.add(tf.mul(tf.mul(mx, my), 2), c1), tf.add(tf.mul(sxy, 2), c2));
    const den = tf.mul(tf.add(tf.add(tf.mul(mx, mx), tf.mul(my, my)), c1), tf.add(tf.add(sxx, syy), c2));
    return tf.mean(tf.div(num, den)) as TfCore.Scalar;
  });
}

export type LossName = 'mae' | 'ssim' | 'mae+ssim';

export function reconstructionLoss(tf: Tf, name: LossName, pred: T4, target: T4): TfCore.Scalar {
  const mae = () => tf.mean(tf.abs(tf.sub(pred, target))) as TfCore.Scalar;
  const dssim = () => tf.div(tf.sub(1, ssim(tf, pred, target)), 2) as TfCore.Scalar;
  if (name === 'mae') return mae();
  if (name === 'ssim') return dssim();
  return tf.add(mae(), dssim()) as TfCore.Scalar;
}
