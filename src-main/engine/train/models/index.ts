/** The trainer registry: one file per model in this folder. */
import { UserError } from '../../../../src-shared/errors';
import type { TrainerName } from '../../../../src-shared/stages/train';
import type { AutoencoderConfig } from './autoencoder';
import { lightweight } from './lightweight';
import { masked128 } from './masked128';
import { original } from './original';

export const trainers: Record<TrainerName, AutoencoderConfig> = { original, lightweight, masked128 };

export function trainerConfig(name: string): AutoencoderConfig {
  const c = (trainers as Record<string, AutoencoderConfig | undefined>)[name];
  if (!c) throw new UserError('bad-option', `unknown trainer '${name}' (have ${Object.keys(trainers).join(', ')})`);
  return c;
}

export { buildAutoencoder, type FaceModel, type AutoencoderConfig, type Side } from './autoencoder';
