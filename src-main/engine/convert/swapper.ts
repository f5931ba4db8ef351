/**
 * What convert needs from a trained model: faces in, swapped faces (and a mask when the model learns one) out.
 * `loadSwapper` adapts the train engine's model folder (state.json + weights.bin) to this interface; tests and
 * benches use `syntheticSwapper`, which changes the face in a known way, so every blend option is tested on real
 * footage without a trained model.
 */
import type { Matrix2x3 } from '../face/types';

export interface SwapOutput {
  /** n x outputSize x outputSize x 3, 0..1. */
  faces: Float32Array;
  /** n x outputSize x outputSize, 0..1, when `hasMask`. */
  masks?: Float32Array;
}

export interface FaceSwapper {
  /** Side of the model's input square, pixels. */
  inputSize: number;
  /** Side of the model's output square, pixels. */
  outputSize: number;
  /** Fraction of the aligned face the model sees (centre crop of the extract-size aligned face). */
  coverage: number;
  hasMask: boolean;
  /** Trainer name (provenance). */
  trainer: string;
  /** Faces n x inputSize x inputSize x 3, 0..1. */
  swap(faces: Float32Array, n: number): Promise<SwapOutput>;
  dispose(): void;
}

/**
 * Frame pixels -> model pixels, from the stored frame -> aligned-crop matrix (aligned crop side `alignedSize`):
 * the model sees the centred `coverage` part of the aligned crop, scaled to `modelSize`.
 */
export function modelMatrix(aligned: Matrix2x3, alignedSize: number, modelSize: number, coverage: number): Matrix2x3 {
  const k = modelSize / (alignedSize * coverage);
  const off = -((alignedSize * (1 - coverage)) / 2) * k;
  return [
    [aligned[0][0] * k, aligned[0][1] * k, aligned[0][2] * k + off],
    [aligned[1][0] * k, aligned[1][1] * k, aligned[1][2] * k + off],
  ];
}

export type SyntheticKind = 'identity' | 'shift' | 'blur' | 'invert';

/**
 * A stand-in model: returns the input face changed in a known way. `shift` adds `amount` (0..1) to every channel
 * (a colour cast), `blur` box-blurs (a soft, detail-less face like an undertrained model), `invert` flips colours.
 * With `mask`, it predicts an ellipse inscribed in the central 80% of the square.
 */
export function syntheticSwapper(opts: {
  kind: SyntheticKind;
  size?: number;
  amount?: number | [number, number, number];
  mask?: boolean;
  coverage?: number;
}): FaceSwapper {
  const size = opts.size ?? 64;
  const amt = opts.amount ?? 0.15;
  const shift: [number, number, number] = Array.isArray(amt) ? amt : [amt, amt, amt];
  const ellipse = new Float32Array(size * size);
  const c = (size - 1) / 2,
    r = size * 0.4;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) ellipse[y * size + x] = ((x - c) / r) ** 2 + ((y - c) / (r * 1.1)) ** 2 <= 1 ? 1 : 0;
  return {
    inputSize: size,
    outputSize: size,
    coverage: opts.coverage ?? 1,
    hasMask: opts.mask ?? false,
    trainer: `synthetic-${opts.kind}`,
    swap(faces, n) {
      const out = new Float32Array(faces.length);
      const px = size * size;
      for (let k = 0; k < n; k++) {
        const o = k * px * 3;
        for (let i = 0; i < px; i++) {
          for (let ch = 0; ch < 3; ch++) {
            const v = faces[o + i * 3 + ch]!;
            let r2: number;
            switch (opts.kind) {
              case 'identity':
                r2 = v;
                break;
              case 'shift':
                r2 = v + shift[ch]!;
                break;
              case 'invert':
                r2 = 1 - v;
                break;
              case 'blur': {
                const x = i % size,
                  y = (i - x) / size;
                let s = 0,
                  m = 0;
                for (let dy = -3; dy <= 3; dy++)
                  for (let dx = -3; dx <= 3; dx++) {
                    const xx = x + dx,
                      yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= size || yy >= size) continue;
                    s += faces[o + (yy * size + xx) * 3 + ch]!;
                    m++;
                  }
                r2 = s / m;
                break;
              }
            }
            out[o + i * 3 + ch] = Math.min(1, Math.max(0, r2));
          }
        }
      }
      const res: SwapOutput = { faces: out };
      if (opts.mask) {
        const masks = new Float32Array(n * px);
        for (let k = 0; k < n; k++) masks.set(ellipse, k * px);
        res.masks = masks;
      }
      return Promise.resolve(res);
    },
    dispose() {},
  };
}
