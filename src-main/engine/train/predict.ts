/**
 * Loading a trained model for inference (the convert stage): `loadFaceModel(dir)` reads the newest consistent
 * save, builds the trainer's network on the chosen backend and returns `predict`, which swaps a batch of faces
 * (centre-cropped at the model's coverage, RGB 0..1, NHWC) in one direction.
 */
import { loadTf, type TfBackendChoice, type TfBackendName } from '../tf/backend';
import { importWeights, readModelWeights, type LoadedModelFiles } from './model-io';
import { buildAutoencoder, trainerConfig, type FaceModel } from './models/index';

/**
 * The one spelling of a pass through the model: `a-to-b` encodes faces of A and decodes them as B (the swap),
 * `b-to-a` the reverse, `a-to-a`/`b-to-b` reconstruct.
 */
export type Direction = 'a-to-b' | 'b-to-a' | 'a-to-a' | 'b-to-b';

export interface LoadedFaceModel {
  trainer: string;
  /** Input and output side in pixels. */
  size: number;
  /** Fraction of the aligned face the model covers (centre crop). */
  coverage: number;
  hasMask: boolean;
  iteration: number;
  backend: TfBackendName;
  /**
   * One pass in `direction`. faces: n x size x size x 3 floats 0..1. Returns the face (same layout) and, for
   * masked trainers, the predicted mask (n x size x size).
   */
  predict(faces: Float32Array, n: number, direction: Direction): { face: Float32Array; mask?: Float32Array };
  /** `predict` with an asynchronous read-back: works on every backend (webgpu cannot read synchronously in Node). */
  predictAsync(
    faces: Float32Array,
    n: number,
    direction: Direction,
  ): Promise<{ face: Float32Array; mask?: Float32Array }>;
  /** The network itself (tests, advanced use). */
  model: FaceModel;
  dispose(): void;
}

/**
 * `files`: the save already read by the caller (`readModelWeights`), so that the weights are read and hashed
 * once; absent, they are read here, without the optimizer file (inference never needs it).
 */
export async function loadFaceModel(
  dir: string,
  opts: { backend?: TfBackendChoice; files?: LoadedModelFiles } = {},
): Promise<LoadedFaceModel> {
  const files = opts.files ?? (await readModelWeights(dir));
  const cfg = trainerConfig(files.state.trainer, files.state.options);
  const { tf, backend } = await loadTf({ backend: opts.backend ?? 'auto' });
  const model = buildAutoencoder(tf, cfg, files.state.seed);
  importWeights(model, files.state.tensors, files.weights, files.weightsFile);
  const S = cfg.size;
  return {
    trainer: cfg.name,
    size: S,
    coverage: files.state.coverage,
    hasMask: cfg.mask,
    iteration: files.state.iteration,
    backend,
    model,
    predict(faces, n, direction) {
      const side = direction === 'a-to-b' || direction === 'b-to-b' ? 'b' : 'a';
      return tf.tidy(() => {
        const out = model.forward(tf.tensor4d(faces, [n, S, S, 3]), side);
        const face = out.face.dataSync() as Float32Array;
        return out.mask ? { face, mask: out.mask.dataSync() as Float32Array } : { face };
      });
    },
    async predictAsync(faces, n, direction) {
      const side = direction === 'a-to-b' || direction === 'b-to-b' ? 'b' : 'a';
      const out = tf.tidy(() => {
        const o = model.forward(tf.tensor4d(faces, [n, S, S, 3]), side);
        return o.mask ? [o.face, o.mask] : [o.face];
      });
      try {
        const [face, mask] = (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
        return mask ? { face: face as Float32Array, mask } : { face: face as Float32Array };
      } finally {
        tf.dispose(out);
      }
    },
    dispose: () => model.dispose(),
  };
}
