/** A small saved model for tests that read a model folder: an untrained lightweight autoencoder on the cpu backend. */
import { loadTf } from '../../src-main/engine/tf/backend';
import { Adam } from '../../src-main/engine/train/adam';
import { saveModel } from '../../src-main/engine/train/model-io';
import { buildAutoencoder, trainers } from '../../src-main/engine/train/models/index';

/**
 * Saves an untrained lightweight model (seed 1, Adam at lr 5e-5) in `modelDir`, once per iteration of
 * `iterations`, in order: each save keeps the one before it as its backup. Returns the last save's state.
 */
export async function saveTinyModel(modelDir: string, iterations: readonly number[] = [1]) {
  const { tf } = await loadTf({ backend: 'cpu' });
  const cfg = trainers.lightweight;
  const m = buildAutoencoder(tf, cfg, 1);
  const optimizer = { learningRate: 5e-5, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };
  const adam = new Adam(tf, m.params.vars, optimizer, 'device');
  try {
    let state;
    for (const iteration of iterations)
      state = await saveModel(modelDir, m, adam, {
        trainer: cfg.name,
        inputSize: cfg.size,
        outputSize: cfg.size,
        hasMask: cfg.mask,
        coverage: 0.75,
        seed: 1,
        iteration,
        lossA: [0.5],
        lossB: [0.5],
        optimizer: { name: 'adam' as const, ...optimizer },
        options: {},
        trainSeconds: 0,
      });
    if (!state) throw new Error('saveTinyModel: no iteration to save');
    return state;
  } finally {
    adam.dispose();
    m.dispose();
  }
}
