/**
 * The `sae` trainer's own options (DFL-SAE family, src-main/engine/train/models/sae.ts). A trainer contributes its
 * options as faceswap's plugins do: this shape is spread into the train stage's schema, so the CLI gets
 * `--sae-*` flags and the GUI a "SAE trainer" section from the same fields; other trainers ignore them. Unset
 * widths take the preset's; a resumed model keeps the options it was created with.
 */
import { z } from 'zod';
import { field } from '../options';

export const SAE_LAYOUTS = ['df', 'liae'] as const;
export type SaeLayout = (typeof SAE_LAYOUTS)[number];
export const SAE_PRESETS = ['gpu', 'cpu'] as const;
export type SaePreset = (typeof SAE_PRESETS)[number];

export interface SaeDims {
  resolution: number;
  aeDims: number;
  eDims: number;
  dDims: number;
  dMaskDims: number;
}

/**
 * `gpu`: DeepFaceLab SAEHD's defaults (128 px, ae 256, e 64, d 64, mask 22; about 55 GFLOP per face forward).
 * `cpu`: the same 128 px network at under a fifth of the widths (about 2.3 GFLOP per face, masked128's class).
 */
export const SAE_PRESET_DIMS: Record<SaePreset, SaeDims> = {
  gpu: { resolution: 128, aeDims: 256, eDims: 64, dDims: 64, dMaskDims: 22 },
  cpu: { resolution: 128, aeDims: 128, eDims: 12, dDims: 12, dMaskDims: 6 },
};

const group = 'SAE trainer';
const dims = (label: string, help: string, min: number, max: number) =>
  field.optionalNumber({
    label,
    help: `${help} (sae only; default: the preset's)`,
    group,
    int: true,
    min,
    max,
    advanced: true,
  });

export const saeTrainerOptions = {
  saePreset: field.choice({
    label: 'SAE preset',
    help: 'sae only: gpu (DeepFaceLab SAEHD widths, ~55 GFLOP per face) or cpu (~2.3 GFLOP per face)',
    group,
    choices: SAE_PRESETS,
    default: 'gpu',
    advanced: true,
  }),
  saeLayout: field.choice({
    label: 'SAE layout',
    help: 'sae only: df (shared encoder, one decoder per person) or liae (shared encoder and decoder, two inter layers)',
    group,
    choices: SAE_LAYOUTS,
    default: 'df',
    advanced: true,
  }),
  saeResolution: dims('SAE resolution', 'Face size in pixels, a multiple of 16', 64, 256),
  saeAeDims: dims('SAE autoencoder dims', 'Width of the bottleneck (the inter dense layer)', 16, 1024),
  saeEDims: dims('SAE encoder dims', 'Channels of the first encoder block (the others 2x, 4x, 8x)', 4, 256),
  saeDDims: dims('SAE decoder dims', 'Channels of the last decoder block (the others 2x, 4x)', 4, 256),
  saeDMaskDims: dims('SAE mask decoder dims', 'Channels of the last mask decoder block (the others 2x, 4x)', 2, 256),
};

export const saeTrainerSchema = z.object(saeTrainerOptions);
