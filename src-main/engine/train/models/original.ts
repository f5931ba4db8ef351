/** The classic faceswap `Original` model: 64 px, encoder 128-256-512-1024, dense 1024, 4x4x1024, upscale 512; decoders 256-128-64. */
import type { AutoencoderConfig } from './autoencoder';

export const original: AutoencoderConfig = {
  name: 'original',
  summary: 'Classic faceswap Original (64 px); GPU-sized',
  size: 64,
  encoder: [128, 256, 512, 1024],
  dense: 1024,
  latent: 4,
  latentChannels: 1024,
  encoderUpscale: 512,
  decoder: [256, 128, 64],
  mask: false,
  suggestedBatch: 16,
};
