/**
 * The classic faceswap shared-encoder / two-decoder autoencoder, parametrised by widths. `original`,
 * `lightweight` and `masked128` are configurations of it (one file each in this folder).
 *
 * encoder: conv5x5/2 + LeakyReLU(0.1) for each of `encoder` widths -> flatten -> dense(`dense`)
 *          -> dense(latent^2 * `latentChannels`) -> reshape -> upscale(`encoderUpscale`)
 * decoder: upscale for each of `decoder` widths -> conv5x5 sigmoid to RGB (and a 1-channel mask when `mask`).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { Side as IdentitySide } from '../../../../src-shared/formats/project';
import { Rng } from '../rng';
import { Params, conv, convFlops, dense, upscale, type T4 } from './layers';
import { buildSae, saeFlopsPerFace, type SaeSpec } from './sae';

type Tf = typeof TfCore;

export interface AutoencoderConfig {
  name: string;
  summary: string;
  size: number;
  encoder: number[];
  dense: number;
  latent: number;
  latentChannels: number;
  encoderUpscale: number;
  decoder: number[];
  mask: boolean;
  /** Suggested batch size and learning rate for this model (the CLI defaults stay faceswap's). */
  suggestedBatch: number;
  /** A DFL-SAE model (models/sae.ts): the fields above describe its skeleton, this its layout and widths. */
  sae?: SaeSpec;
}

/**
 * Which identity's decoder: src-shared's `Side` in lower case, the spelling of the saved weight names
 * (`decoder_a/...`, `decoder_b/...`).
 */
export type Side = Lowercase<IdentitySide>;

export interface FaceModel {
  config: AutoencoderConfig;
  params: Params;
  /** Encodes faces [N,S,S,3] in 0..1 and decodes with the decoder of `side`: [N,S,S,3] (+ mask [N,S,S,1]). */
  forward(x: T4, side: Side): { face: T4; mask?: T4 };
  /** Forward FLOPs per face (one side), for GFLOP/s figures. Training is about 3x. */
  flopsPerFace: number;
  dispose(): void;
}

/** Forward FLOPs per face (the encoder and one decoder), from the config alone: no weights are allocated. */
export function forwardFlops(cfg: AutoencoderConfig): number {
  if (cfg.sae) return saeFlopsPerFace(cfg.sae);
  let f = 0;
  let ch = 3;
  let s = cfg.size;
  for (const w of cfg.encoder) {
    s /= 2;
    f += convFlops(s, s, 5, ch, w);
    ch = w;
  }
  f += 2 * s * s * ch * cfg.dense + 2 * cfg.dense * cfg.latent * cfg.latent * cfg.latentChannels;
  f += convFlops(cfg.latent, cfg.latent, 3, cfg.latentChannels, cfg.encoderUpscale * 4);
  let c = cfg.encoderUpscale;
  let hs = cfg.latent * 2;
  for (const w of cfg.decoder) {
    f += convFlops(hs, hs, 3, c, w * 4);
    c = w;
    hs *= 2;
  }
  f += convFlops(hs, hs, 5, c, 3);
  if (cfg.mask) f += convFlops(hs, hs, 5, c, 1);
  return f;
}

export function buildAutoencoder(tf: Tf, cfg: AutoencoderConfig, seed: number): FaceModel {
  if (cfg.sae) return buildSae(tf, cfg, seed);
  const p = new Params(tf, new Rng(seed));
  let ch = 3;
  let s = cfg.size;
  cfg.encoder.forEach((w, i) => {
    p.conv(`encoder/conv${i + 1}`, 5, ch, w);
    s /= 2;
    ch = w;
  });
  if (s !== cfg.latent) throw new Error(`${cfg.name}: encoder ends at ${s}px, latent is ${cfg.latent}px`);
  const flat = s * s * ch;
  p.dense('encoder/dense1', flat, cfg.dense);
  const latentSize = cfg.latent * cfg.latent * cfg.latentChannels;
  p.dense('encoder/dense2', cfg.dense, latentSize);
  p.conv('encoder/upscale', 3, cfg.latentChannels, cfg.encoderUpscale * 4);
  for (const side of ['a', 'b'] as const) {
    let c = cfg.encoderUpscale;
    let hs = cfg.latent * 2;
    cfg.decoder.forEach((w, i) => {
      p.conv(`decoder_${side}/upscale${i + 1}`, 3, c, w * 4);
      c = w;
      hs *= 2;
    });
    if (hs !== cfg.size) throw new Error(`${cfg.name}: decoder ends at ${hs}px, size is ${cfg.size}px`);
    p.conv(`decoder_${side}/face`, 5, c, 3, 'glorot');
    if (cfg.mask) p.conv(`decoder_${side}/mask`, 5, c, 1, 'glorot');
  }
  const forward = (x: T4, side: Side) => {
    let h: T4 = x;
    cfg.encoder.forEach((_w, i) => {
      h = conv(p, `encoder/conv${i + 1}`, h, 2, 'leaky', i === 0);
    });
    const n = h.shape[0];
    let z = tf.reshape(h, [n, flat]) as TfCore.Tensor2D;
    z = dense(p, 'encoder/dense1', z);
    z = dense(p, 'encoder/dense2', z);
    h = tf.reshape(z, [n, cfg.latent, cfg.latent, cfg.latentChannels]);
    h = upscale(p, 'encoder/upscale', h);
    for (let i = 0; i < cfg.decoder.length; i++) h = upscale(p, `decoder_${side}/upscale${i + 1}`, h);
    const face = conv(p, `decoder_${side}/face`, h, 1, 'sigmoid');
    if (!cfg.mask) return { face };
    return { face, mask: conv(p, `decoder_${side}/mask`, h, 1, 'sigmoid') };
  };
  return { config: cfg, params: p, forward, flopsPerFace: forwardFlops(cfg), dispose: () => p.dispose() };
}
