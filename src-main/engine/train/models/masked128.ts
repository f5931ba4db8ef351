/**
 * 128 px model that also learns the face mask (for the `predicted` mask at conversion), after faceswap's
 * DFL-H128 at half width: encoder 64-128-256-512 down to 8x8, dense 512, 8x8x256, upscale 256; decoders
 * 128-64-32, each ending in an RGB face and a 1-channel mask (about 3.5 GFLOP per face forward: GPU-sized).
 */
import type { AutoencoderConfig } from './autoencoder';

export const masked128: AutoencoderConfig = {
  name: 'masked128',
  summary: '128 px model with a learned face mask',
  size: 128,
  encoder: [64, 128, 256, 512],
  dense: 512,
  latent: 8,
  latentChannels: 256,
  encoderUpscale: 256,
  decoder: [128, 64, 32],
  mask: true,
  suggestedBatch: 8,
};
