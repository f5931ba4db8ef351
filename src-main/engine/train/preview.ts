/**
 * The preview grid on fixed faces: each row is  A | A->A | A->B || B | B->B | B->A  (faceswap's layout), written
 * as a PNG. For a masked model the swapped faces are shown as predicted (the mask is applied at conversion).
 */
import sharp from 'sharp';
import type * as TfCore from '@tensorflow/tfjs-core';
import type { FaceModel } from './models/index';

type Tf = typeof TfCore;

export interface PreviewFaces {
  a: Float32Array; // n x S x S x 3
  b: Float32Array;
  n: number;
  size: number;
}

/**
 * Predicts all six columns; returns RGB float arrays per column, each n x S x S x 3. Read back asynchronously,
 * in one read (webgpu cannot read synchronously under Node).
 */
export async function previewColumns(tf: Tf, model: FaceModel, f: PreviewFaces): Promise<Float32Array[]> {
  const outs = tf.tidy(() => {
    const shape: [number, number, number, number] = [f.n, f.size, f.size, 3];
    const a = tf.tensor4d(f.a, shape);
    const b = tf.tensor4d(f.b, shape);
    return [
      model.forward(a, 'a').face,
      model.forward(a, 'b').face,
      model.forward(b, 'b').face,
      model.forward(b, 'a').face,
    ];
  });
  try {
    const [aa, ab, bb, ba] = (await Promise.all(outs.map((t) => t.data()))) as Float32Array[];
    return [f.a, aa as Float32Array, ab as Float32Array, f.b, bb as Float32Array, ba as Float32Array];
  } finally {
    tf.dispose(outs);
  }
}

export async function previewPng(tf: Tf, model: FaceModel, f: PreviewFaces): Promise<Buffer> {
  const cols = await previewColumns(tf, model, f);
  const S = f.size;
  const gap = 4;
  const W = 6 * S + gap;
  const H = f.n * S;
  const img = new Uint8Array(W * H * 3).fill(255);
  cols.forEach((col, c) => {
    const x0 = c * S + (c >= 3 ? gap : 0);
    for (let r = 0; r < f.n; r++) {
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const src = ((r * S + y) * S + x) * 3;
          const dst = ((r * S + y) * W + x0 + x) * 3;
          for (let ch = 0; ch < 3; ch++) img[dst + ch] = Math.round(Math.min(1, Math.max(0, col[src + ch] ?? 0)) * 255);
        }
      }
    }
  });
  return sharp(img, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer();
}
