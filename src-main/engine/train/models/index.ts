/** The trainer registry: one file per model in this folder. */
import { UserError } from '../../../../src-shared/errors';
import type { TrainerName } from '../../../../src-shared/stages/train';
import type { AutoencoderConfig } from './autoencoder';
import { lightweight } from './lightweight';
import { masked128 } from './masked128';
import { original } from './original';
import { saeConfig, saeOptionsOf } from './sae';

/** Each trainer at its defaults (`sae`: the gpu preset, df layout). */
export const trainers: Record<TrainerName, AutoencoderConfig> = { original, lightweight, masked128, sae: saeConfig() };

/**
 * The config of trainer `name`; trainers with options of their own (`sae`) read them from `options` (the train
 * options, or a saved model's).
 */
export function trainerConfig(name: string, options?: Record<string, unknown>): AutoencoderConfig {
  if (name === 'sae') return saeConfig(options);
  const c = (trainers as Record<string, AutoencoderConfig | undefined>)[name];
  if (!c) throw new UserError('bad-option', `unknown trainer '${name}' (have ${Object.keys(trainers).join(', ')})`);
  return c;
}

/** The options that rebuild `cfg`'s network (saved in the model's state; empty for trainers without options). */
export function modelOptions(cfg: AutoencoderConfig): Record<string, unknown> {
  return cfg.sae ? saeOptionsOf(cfg.sae) : {};
}

export { saeFlopsPerFace, type SaeSpec } from './sae';
export { buildAutoencoder, forwardFlops, type FaceModel, type AutoencoderConfig } from './autoencoder';
