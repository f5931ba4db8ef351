/**
 * `convert`: swaps the faces of a video, image or folder of images with a trained model and writes the result
 * (MP4 or image folder), labelled as synthetic media. Option names follow faceswap's convert where they fit.
 * Sizes given in percent are relative to the face: the side of the model's face square in the frame.
 */
import { z } from 'zod';
import { UserError } from '../errors';
import { BACKEND_CHOICES } from '../backends';
import { defineStage, field } from '../options';
import { X264_PRESETS } from './media';

/**
 * Region masks: where the new face may go. `rect` the model's square, `facehull` the landmark hull (alias `hull`),
 * `facehullandrect` both, `predicted` the mask the model learned, `segment` / `painted` the mask PNGs the alignments
 * name per face (the segmentation model's, the user's). Joined by '+' they intersect.
 */
export const MASK_REGIONS = ['rect', 'facehull', 'facehullandrect', 'predicted', 'segment', 'painted'] as const;
export type MaskRegion = (typeof MASK_REGIONS)[number];
/** Occlusion masks: cut out of the region (`hands`: the dilated hulls of the hands over the face). */
export const MASK_CUTS = ['hands'] as const;
export type MaskCut = (typeof MASK_CUTS)[number];
/** Every word `--mask` accepts, for help texts and pickers. */
export const MASK_TYPES = [...MASK_REGIONS, ...MASK_CUTS] as const;
/** Other spellings of a mask word. */
export const MASK_ALIASES: Readonly<Record<string, MaskRegion>> = { hull: 'facehull' };
/** A parsed `--mask`: the regions to intersect (in the order given, without repeats) and the cuts. */
export interface MaskSpec {
  regions: MaskRegion[];
  hands: boolean;
}

/** What is wrong with a `--mask` value, or undefined when it is valid. */
export function maskProblem(value: string): string | undefined {
  const words = value.split('+').map((w) => w.trim());
  const seen = new Set<string>();
  let regions = 0;
  for (const w of words) {
    const word = MASK_ALIASES[w] ?? w;
    if (!(MASK_TYPES as readonly string[]).includes(word)) {
      return `${value}: unknown mask "${w}" (expected ${[...MASK_TYPES, ...Object.keys(MASK_ALIASES)].join(', ')}, joined by '+')`;
    }
    if (seen.has(word)) return `${value}: "${word}" is named twice`;
    seen.add(word);
    if ((MASK_REGIONS as readonly string[]).includes(word)) regions++;
  }
  if (regions === 0) return `${value}: "hands" is cut out of a face region: combine it with one, e.g. facehull+hands`;
  return undefined;
}

/** Parses a valid `--mask` value (see `maskProblem`); throws a UserError for an invalid one. */
export function parseMaskSpec(value: string): MaskSpec {
  const problem = maskProblem(value);
  if (problem) throw new UserError('bad-option', `--mask: ${problem}`);
  const words = value.split('+').map((w) => MASK_ALIASES[w.trim()] ?? w.trim());
  return {
    regions: words.filter((w): w is MaskRegion => (MASK_REGIONS as readonly string[]).includes(w)),
    hands: words.includes('hands'),
  };
}

/** True when the mask value includes `kind` (after aliases). */
export function maskIncludes(value: string, kind: MaskRegion | MaskCut): boolean {
  return value.split('+').some((w) => (MASK_ALIASES[w.trim()] ?? w.trim()) === kind);
}
export const COLOR_MODES = ['none', 'avg', 'hist', 'reinhard'] as const;
export const SHARPEN_MODES = ['none', 'box', 'gaussian'] as const;

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
  mask: field.string({
    label: 'Mask',
    help: "region that is replaced: rect (the aligned square), facehull (the landmark hull), facehullandrect, predicted (the mask the model learned), segment or painted (the face's mask PNGs); join with '+' to intersect, and add +hands to keep hands in front of the face (e.g. facehull+hands, segment+hands)",
    group: 'Mask',
    default: 'facehull',
    pattern: /^[a-z]+(\+[a-z]+)*$/,
    patternHelp: "expected mask names joined by '+', e.g. facehull+hands",
    check: maskProblem,
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
    help: 'x264 speed preset (fast: the quality of medium at CRF 18 with 13% less encoding time, files ~3% larger)',
    group: 'Output',
    choices: X264_PRESETS,
    default: 'fast',
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
    choices: BACKEND_CHOICES,
    default: 'auto',
    advanced: true,
  }),
});

export type ConvertOptions = z.output<typeof convertOptions>;

const count = z.int().nonnegative();

/** What a conversion wrote (src-main/engine/convert/run.ts). */
export const convertResult = z.object({
  output: z.string(),
  /** Frames written. */
  frames: count,
  /** Frames whose faces were swapped (inside the ranges). */
  swappedFrames: count,
  faces: count,
  /** Faces left alone because their aligned PNG was deleted from --faces-dir. */
  skippedFaces: count,
  /** Faces left alone by --filter / --nfilter. */
  filteredFaces: count,
  /** Frames the alignments did not list, detected on the fly. */
  detectedFrames: count,
  /** Conversion speed over the whole run, frames/s. */
  fps: z.number(),
  /** The provenance sidecar `<output>.provenance.json`, when the output is labelled. */
  provenance: z.string().optional(),
  /** Subject of the certificate that signed the output's C2PA Content Credentials, when they were embedded. */
  contentCredentials: z.string().optional(),
  /** The quality report `<output>.quality.json`, when written. */
  quality: z.string().optional(),
  /** The quality report's one-line verdict ("reads as B, sharp", "still blurry: train longer", ...). */
  verdict: z.string().optional(),
  /** Threads that did the work (worker pipelines). */
  workers: count.optional(),
  /** Milliseconds per step over every frame and worker (decode, detect, model, blend, encode...). */
  steps: z.record(z.string(), z.number()).optional(),
});
export type ConvertResult = z.output<typeof convertResult>;

export const convertStage = defineStage({
  id: 'convert',
  title: 'Convert',
  summary: 'Swap the faces of a video or images with a trained model and write a labelled result.',
  options: convertOptions,
  result: convertResult,
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
