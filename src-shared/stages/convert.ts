/**
 * `convert`: swaps the faces of a video, image or folder of images with a trained model and writes the result
 * (MP4 or image folder), labelled as synthetic media. Option names follow faceswap's convert where they fit.
 * Sizes given in percent are relative to the face: the side of the model's face square in the frame.
 */
import { z } from 'zod';
import { UserError } from '../errors';
import { defineStage, field } from '../options';

export const MASK_TYPES = ['rect', 'facehull', 'facehullandrect', 'predicted'] as const;
export const COLOR_MODES = ['none', 'avg', 'hist', 'reinhard'] as const;
export const SHARPEN_MODES = ['none', 'box', 'gaussian'] as const;
export const X264_PRESETS = [
  'ultrafast',
  'superfast',
  'veryfast',
  'faster',
  'fast',
  'medium',
  'slow',
  'slower',
  'veryslow',
] as const;

/** One frame range `start-end`, both inclusive, 0-based frame indices. */
export const FRAME_RANGE = /^\d+-\d+$/;

function reversedRange(item: string): string | undefined {
  const [a, b] = item.split('-').map(Number);
  return a !== undefined && b !== undefined && a > b
    ? `${item}: the range ends before it starts (write ${b}-${a})`
    : undefined;
}

export const convertOptions = z.object({
  input: field.path({
    label: 'Input',
    help: 'video, image or folder of images to convert',
    group: 'Input',
    short: 'i',
    pathKind: 'file-or-dir',
  }),
  output: field.path({
    label: 'Output',
    help: 'output video (.mp4/.mkv/.mov) or folder of images',
    group: 'Input',
    short: 'o',
    pathKind: 'file-or-dir',
  }),
  model: field.path({
    label: 'Model',
    help: 'model folder written by train',
    group: 'Input',
    short: 'm',
    pathKind: 'dir',
  }),
  alignments: field.optionalPath({
    label: 'Alignments',
    help: 'alignments file of the input (default: <input>.alignments.json beside it)',
    group: 'Input',
    short: 'a',
    pathKind: 'file',
  }),
  facesDir: field.optionalPath({
    label: 'Faces folder',
    help: 'curated aligned faces: a face whose PNG was deleted here is not swapped',
    group: 'Input',
    pathKind: 'dir',
  }),
  swapModel: field.boolean({
    label: 'Swap model',
    help: 'swap B to A instead of A to B',
    group: 'Model',
    default: false,
  }),
  mask: field.choice({
    label: 'Mask',
    help: 'region that is replaced: the aligned square, the landmark hull, both, or the mask the model learned',
    group: 'Mask',
    choices: MASK_TYPES,
    default: 'facehull',
  }),
  blurSize: field.number({
    label: 'Blur size',
    help: 'feather of the mask edge, percent of the face size',
    group: 'Mask',
    default: 5,
    min: 0,
    max: 50,
    step: 0.5,
  }),
  erosion: field.number({
    label: 'Erosion',
    help: 'shrink the mask by this percent of the face size (negative grows it)',
    group: 'Mask',
    default: 0,
    min: -50,
    max: 50,
    step: 0.5,
  }),
  color: field.choice({
    label: 'Colour',
    help: 'colour matching of the new face to the original: mean, histogram, or Reinhard (Lab mean and spread)',
    group: 'Blend',
    choices: COLOR_MODES,
    default: 'avg',
  }),
  seamless: field.boolean({
    label: 'Seamless',
    help: 'gradient-domain (Poisson) clone: no colour step along the mask border',
    group: 'Blend',
    default: false,
  }),
  sharpen: field.choice({
    label: 'Sharpen',
    help: 'unsharp mask of the new face',
    group: 'Blend',
    choices: SHARPEN_MODES,
    default: 'none',
  }),
  sharpenAmount: field.number({
    label: 'Sharpen amount',
    help: 'strength of the sharpening, percent',
    group: 'Blend',
    default: 100,
    min: 0,
    max: 500,
    advanced: true,
  }),
  frameRanges: field.strings({
    label: 'Frame ranges',
    help: 'only swap these frames, e.g. 10-50 90-100 (0-based, inclusive)',
    group: 'Frames',
    pattern: FRAME_RANGE,
    patternHelp: 'expected start-end, e.g. 10-50',
    check: reversedRange,
  }),
  discardFrames: field.boolean({
    label: 'Discard frames',
    help: 'write only the frames inside --frame-ranges',
    group: 'Frames',
    default: false,
  }),
  filter: field.paths({
    label: 'Filter',
    help: 'photos of the people to swap (others are left alone)',
    group: 'Faces',
    pathKind: 'file',
  }),
  nfilter: field.paths({
    label: 'Negative filter',
    help: 'photos of people never to swap',
    group: 'Faces',
    pathKind: 'file',
  }),
  filterThreshold: field.number({
    label: 'Filter threshold',
    help: 'face similarity (0..1) above which a face counts as the person of a filter photo',
    group: 'Faces',
    default: 0.5,
    min: 0,
    max: 1,
    step: 0.05,
    advanced: true,
  }),
  crf: field.int({
    label: 'CRF',
    help: 'x264 quality (lower is better, 18 is visually lossless)',
    group: 'Output',
    default: 18,
    min: 0,
    max: 51,
  }),
  preset: field.choice({
    label: 'Preset',
    help: 'x264 speed preset',
    group: 'Output',
    choices: X264_PRESETS,
    default: 'medium',
  }),
  label: field.boolean({
    label: 'Label',
    help: 'mark the output as synthetic media (container metadata + provenance sidecar)',
    group: 'Output',
    default: true,
  }),
  qualityReport: field.boolean({
    label: 'Quality report',
    help: "measure the swap (identity, pose, expression, temporal) into <output>.quality.json; needs the model's training faces",
    group: 'Output',
    default: true,
  }),
  watermark: field.boolean({
    label: 'Watermark',
    help: 'draw a visible "synthetic" mark in the corner of every frame',
    group: 'Output',
    default: false,
  }),
  backend: field.choice({
    label: 'Backend',
    help: 'tfjs backend for the model',
    group: 'Model',
    choices: ['auto', 'webgpu', 'wasm', 'cpu'] as const,
    default: 'auto',
    advanced: true,
  }),
});

export type ConvertOptions = z.output<typeof convertOptions>;

export const convertStage = defineStage({
  id: 'convert',
  title: 'Convert',
  summary: 'Swap the faces of a video or images with a trained model and write a labelled result.',
  options: convertOptions,
});

/** Parses `--frame-ranges` items into inclusive [start, end] pairs (sorted, merged). */
export function parseFrameRanges(items: readonly string[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const it of items) {
    const m = /^(\d+)-(\d+)$/.exec(it.trim());
    if (!m) continue;
    const a = Number(m[1]),
      b = Number(m[2]);
    if (a > b) throw new UserError('bad-option', `--frame-ranges: ${it}: the range ends before it starts`);
    out.push([a, b]);
  }
  out.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

export function inRanges(ranges: ReadonlyArray<readonly [number, number]>, i: number): boolean {
  if (ranges.length === 0) return true;
  for (const r of ranges) if (i >= r[0] && i <= r[1]) return true;
  return false;
}
