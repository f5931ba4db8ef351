/**
 * A CPU-sized Original (64 px): encoder 24-48-96-192 (5x5, stride 2), dense 256, 4x4x192, upscale 96;
 * decoders 48-24-12. About 0.14 GFLOP per face forward (Original: 3.8), so it trains on wasm in minutes.
 */
import type { AutoencoderConfig } from './autoencoder';

export const lightweight: AutoencoderConfig = {
  name: 'lightweight',
  summary: 'Small 64 px model that trains on a CPU (wasm)',
  size: 64,
  encoder: [24, 48, 96, 192],
  dense: 256,
  latent: 4,
  latentChannels: 192,
  encoderUpscale: 96,
  decoder: [48, 24, 12],
  mask: false,
  suggestedBatch: 8,
};
