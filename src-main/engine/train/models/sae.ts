/**
 * `sae`: the DFL-SAE family, after DeepFaceLab's SAEHD (iperov/DeepFaceLab, models/Model_SAEHD/Model.py and
 * core/leras/archis/DeepFakeArchi.py), compact: no `-u`/`-d`/`-t` variants, no GAN, no true-face discriminator.
 *
 * encoder:  4 downscale blocks (conv 5x5/2 + LeakyReLU 0.1) of e, 2e, 4e, 8e channels -> flatten
 * inter:    dense(ae) -> dense(lowest^2 * aeOut) -> reshape to lowest x lowest (lowest = resolution / 16)
 *           -> upscale(aeOut)                          (upscale = conv 3x3 to 4x + LeakyReLU 0.1 + depth-to-space 2)
 * decoder:  upscale(8d) res(8d) upscale(4d) res(4d) upscale(2d) res(2d) -> conv 1x1 sigmoid (RGB)
 *           and from the same code a mask branch: upscale(8m) upscale(4m) upscale(2m) -> conv 1x1 sigmoid
 *           (res = conv 3x3, LeakyReLU 0.2, conv 3x3, add the input, LeakyReLU 0.2)
 *
 * Layouts (A = the face replaced, DFL's dst; B = the face put in, DFL's src):
 * - `df`:   shared encoder and inter (aeOut = ae), one decoder per person; a side decodes with its decoder.
 * - `liae`: shared encoder, `inter_ab` (both people) and `inter_a` (A only), aeOut = 2 ae, one shared decoder
 *           on a code of two halves: B is [ab(x), ab(x)], A is [a(x), ab(x)]. Decoding "as B" (the swap A->B)
 *           therefore reads only the shared inter, as DFL's src-dst code does.
 *
 * Weights are plain named variables in `Params` (save, restore, Adam and the gradient workers walk them by
 * name and creation order, as for the classic models).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { UserError } from '../../../../src-shared/errors';
import { parseOptions } from '../../../../src-shared/options';
import {
  SAE_PRESET_DIMS,
  saeTrainerSchema,
  type SaeDims,
  type SaeLayout,
} from '../../../../src-shared/stages/train-sae';
import { Rng } from '../rng';
import type { AutoencoderConfig, FaceModel, Side } from './autoencoder';
import { Params, conv, convFlops, dense, upscale, type T4 } from './layers';

type Tf = typeof TfCore;

/** What makes an AutoencoderConfig an SAE (its classic fields describe the encoder/inter/decoder skeleton). */
export interface SaeSpec extends SaeDims {
  layout: SaeLayout;
}

/**
 * The `sae` trainer's config from the train options (`saePreset`, `saeLayout`, `sae*Dims`, `saeResolution`;
 * any missing key takes its default, so a model state's saved options rebuild the same network).
 */
export function saeConfig(options: Record<string, unknown> = {}): AutoencoderConfig {
  const known = Object.fromEntries(Object.entries(options).filter(([k]) => k.startsWith('sae')));
  const o = parseOptions(saeTrainerSchema, known);
  const preset = SAE_PRESET_DIMS[o.saePreset];
  const spec: SaeSpec = {
    layout: o.saeLayout,
    resolution: o.saeResolution ?? preset.resolution,
    aeDims: o.saeAeDims ?? preset.aeDims,
    eDims: o.saeEDims ?? preset.eDims,
    dDims: o.saeDDims ?? preset.dDims,
    dMaskDims: o.saeDMaskDims ?? preset.dMaskDims,
  };
  if (spec.resolution % 16 !== 0)
    throw new UserError(
      'bad-option',
      `--sae-resolution ${spec.resolution}: must be a multiple of 16 (64, 80, ..., 256)`,
    );
  return saeConfigOf(spec);
}

/** The options that rebuild this network whatever the preset (saved with the model). */
export function saeOptionsOf(spec: SaeSpec): Record<string, unknown> {
  return {
    saeLayout: spec.layout,
    saeResolution: spec.resolution,
    saeAeDims: spec.aeDims,
    saeEDims: spec.eDims,
    saeDDims: spec.dDims,
    saeDMaskDims: spec.dMaskDims,
  };
}

export function saeConfigOf(spec: SaeSpec): AutoencoderConfig {
  const { resolution: res, aeDims: ae, eDims: e, dDims: d, layout } = spec;
  const aeOut = layout === 'liae' ? 2 * ae : ae;
  return {
    name: 'sae',
    summary: `DFL-SAE ${layout} ${res} px (ae ${ae}, e ${e}, d ${d}, mask ${spec.dMaskDims}) with a learned face mask`,
    size: res,
    encoder: [e, 2 * e, 4 * e, 8 * e],
    dense: ae,
    latent: res / 16,
    latentChannels: aeOut,
    encoderUpscale: aeOut,
    decoder: [8 * d, 4 * d, 2 * d],
    mask: true,
    suggestedBatch: res > 128 ? 4 : 8,
    sae: spec,
  };
}

/** DFL's ResidualBlock: conv, LeakyReLU 0.2, conv, add the input, LeakyReLU 0.2. */
function residual(p: Params, key: string, x: T4): T4 {
  const tf = p.tf;
  const h = tf.leakyRelu(conv(p, `${key}/conv1`, x, 1, 'linear'), 0.2) as T4;
  return tf.leakyRelu(tf.add(x, conv(p, `${key}/conv2`, h, 1, 'linear')), 0.2) as T4;
}

export function buildSae(tf: Tf, cfg: AutoencoderConfig, seed: number): FaceModel {
  const spec = cfg.sae;
  if (!spec) throw new Error(`${cfg.name}: not an SAE config`);
  const p = new Params(tf, new Rng(seed));
  const { aeDims: ae, eDims: e, dDims: d, dMaskDims: m, layout } = spec;
  const { lowest, aeOut, decIn } = shapesOf(spec);
  let ch = 3;
  [e, 2 * e, 4 * e, 8 * e].forEach((w, i) => {
    p.conv(`encoder/down${i + 1}`, 5, ch, w);
    ch = w;
  });
  const flat = lowest * lowest * ch;
  for (const k of layout === 'liae' ? ['inter_ab', 'inter_a'] : ['inter']) {
    p.dense(`${k}/dense1`, flat, ae);
    p.dense(`${k}/dense2`, ae, lowest * lowest * aeOut);
    p.conv(`${k}/upscale`, 3, aeOut, aeOut * 4);
  }
  for (const k of layout === 'liae' ? ['decoder'] : ['decoder_a', 'decoder_b']) {
    let c = decIn;
    let cm = decIn;
    [8, 4, 2].forEach((mult, i) => {
      p.conv(`${k}/upscale${i + 1}`, 3, c, d * mult * 4);
      p.conv(`${k}/res${i + 1}/conv1`, 3, d * mult, d * mult);
      p.conv(`${k}/res${i + 1}/conv2`, 3, d * mult, d * mult);
      p.conv(`${k}/mask_upscale${i + 1}`, 3, cm, m * mult * 4);
      c = d * mult;
      cm = m * mult;
    });
    p.conv(`${k}/face`, 1, c, 3, 'glorot');
    p.conv(`${k}/mask`, 1, cm, 1, 'glorot');
  }

  const inter = (k: string, z: TfCore.Tensor2D, n: number): T4 => {
    const h = dense(p, `${k}/dense2`, dense(p, `${k}/dense1`, z));
    return upscale(p, `${k}/upscale`, tf.reshape(h, [n, lowest, lowest, aeOut]) as T4);
  };
  const forward = (x: T4, side: Side) => {
    let h: T4 = x;
    for (let i = 0; i < 4; i++) h = conv(p, `encoder/down${i + 1}`, h, 2, 'leaky', i === 0);
    const n = h.shape[0];
    const z = tf.reshape(h, [n, flat]) as TfCore.Tensor2D;
    let code: T4;
    let k: string;
    if (layout === 'df') {
      code = inter('inter', z, n);
      k = `decoder_${side}`;
    } else {
      const ab = inter('inter_ab', z, n);
      code = tf.concat([side === 'b' ? ab : inter('inter_a', z, n), ab], 3);
      k = 'decoder';
    }
    let f = code;
    for (let i = 1; i <= 3; i++) f = residual(p, `${k}/res${i}`, upscale(p, `${k}/upscale${i}`, f));
    let mk = code;
    for (let i = 1; i <= 3; i++) mk = upscale(p, `${k}/mask_upscale${i}`, mk);
    return { face: conv(p, `${k}/face`, f, 1, 'sigmoid'), mask: conv(p, `${k}/mask`, mk, 1, 'sigmoid') };
  };
  return { config: cfg, params: p, forward, flopsPerFace: saeFlopsPerFace(spec), dispose: () => p.dispose() };
}

function shapesOf(spec: SaeSpec): { lowest: number; aeOut: number; decIn: number } {
  const aeOut = spec.layout === 'liae' ? 2 * spec.aeDims : spec.aeDims;
  return { lowest: spec.resolution / 16, aeOut, decIn: spec.layout === 'liae' ? 2 * aeOut : aeOut };
}

/** Forward FLOPs per face and side (liae's A side, which runs both inters: the larger figure). */
export function saeFlopsPerFace(spec: SaeSpec): number {
  const { resolution: res, aeDims: ae, eDims: e, dDims: d, dMaskDims: m, layout } = spec;
  const { lowest, aeOut, decIn } = shapesOf(spec);
  let f = 0;
  let ch = 3;
  let s = res;
  for (const w of [e, 2 * e, 4 * e, 8 * e]) {
    s /= 2;
    f += convFlops(s, s, 5, ch, w);
    ch = w;
  }
  const flat = lowest * lowest * ch;
  const inter = 2 * flat * ae + 2 * ae * lowest * lowest * aeOut + convFlops(lowest, lowest, 3, aeOut, aeOut * 4);
  f += inter * (layout === 'liae' ? 2 : 1);
  let c = decIn;
  let cm = decIn;
  let hs = lowest * 2;
  for (const mult of [8, 4, 2]) {
    f += convFlops(hs, hs, 3, c, d * mult * 4) + convFlops(hs, hs, 3, cm, m * mult * 4);
    hs *= 2;
    f += 2 * convFlops(hs, hs, 3, d * mult, d * mult);
    c = d * mult;
    cm = m * mult;
  }
  return f + convFlops(res, res, 1, c, 3) + convFlops(res, res, 1, cm, 1);
}
