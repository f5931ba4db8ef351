/**
 * `extract`: find every face of a video, a photo or a folder of photos, write each aligned face as a PNG and
 * their landmarks and transforms to an alignments file. One schema for the CLI and the GUI.
 */
import { z } from 'zod';
import { BACKEND_CHOICES } from '../backends';
import { defineStage, field } from '../options';

export const extractOptions = z.object({
  input: field.path({
    label: 'Input',
    help: 'Video file, photo, or folder of photos to extract faces from.',
    group: 'Input',
    short: 'i',
    pathKind: 'file-or-dir',
  }),
  output: field.path({
    label: 'Faces folder',
    help: 'Folder the aligned face PNGs are written to (created if needed).',
    group: 'Output',
    short: 'o',
    pathKind: 'dir',
  }),
  alignments: field.optionalPath({
    label: 'Alignments file',
    help: 'Where to write the alignments JSON. Default: <input>.alignments.json beside a file, alignments.json inside a folder.',
    group: 'Output',
    short: 'a',
    pathKind: 'file',
  }),
  size: field.int({
    label: 'Face size',
    help: 'Side of the aligned face crop in pixels.',
    group: 'Output',
    default: 256,
    min: 64,
    max: 2048,
    step: 32,
  }),
  everyN: field.int({
    label: 'Every Nth frame',
    help: 'Process one video frame in N (1 = every frame). Faces still get tracked between processed frames.',
    group: 'Input',
    default: 1,
    min: 1,
    max: 1000,
  }),
  minSize: field.int({
    label: 'Minimum face size',
    help: 'Ignore faces whose box side is smaller than this many pixels in the source (0 = keep all).',
    group: 'Detection',
    default: 0,
    min: 0,
    max: 10000,
  }),
  backend: field.choice({
    label: 'Backend',
    help: 'tfjs backend for the face models: auto uses a GPU when there is one (CUDA, WebGPU on a hardware adapter), else wasm',
    group: 'Detection',
    choices: BACKEND_CHOICES,
    default: 'auto',
    advanced: true,
  }),
  filter: field.paths({
    label: 'Keep these people',
    help: 'Reference photos of the person(s) to keep; other faces are not written.',
    group: 'Identity',
    pathKind: 'file',
  }),
  nfilter: field.paths({
    label: 'Drop these people',
    help: 'Reference photos of the person(s) to leave out.',
    group: 'Identity',
    pathKind: 'file',
  }),
  refThreshold: field.number({
    label: 'Identity threshold',
    help: 'Similarity (0..1) to a reference face from which a face counts as that person.',
    group: 'Identity',
    default: 0.5,
    min: 0,
    max: 1,
    step: 0.01,
  }),
  blurThreshold: field.number({
    label: 'Blur threshold',
    help: 'Do not write faces whose sharpness (variance of the Laplacian) is below this (0 = keep all; ~20 drops visibly blurred faces).',
    group: 'Detection',
    default: 0,
    min: 0,
    max: 10000,
  }),
  hands: field.boolean({
    label: 'Hands',
    help: 'Also find the hands near each face and store their outlines in the alignments file, for convert --mask ...+hands (slower: about one hand detection per face).',
    group: 'Detection',
    default: false,
  }),
  rotateImages: field.boolean({
    label: 'Try rotated',
    help: 'When no face is found, try the image turned by 90, 180 and 270 degrees.',
    group: 'Detection',
    default: false,
  }),
  alignEyes: field.boolean({
    label: 'Level the eyes',
    help: 'Rotate each aligned face so the eyes are exactly level.',
    group: 'Output',
    default: false,
    advanced: true,
  }),
  centering: field.choice({
    label: 'Centering',
    help: "Where the crop is centred: 'face' (faceswap's default), 'legacy' (nose) or 'head' (whole head).",
    group: 'Output',
    choices: ['face', 'legacy', 'head'] as const,
    default: 'face',
    advanced: true,
  }),
  skipExisting: field.boolean({
    label: 'Resume',
    help: 'Keep the frames already in the alignments file and process only the rest.',
    group: 'Input',
    default: false,
  }),
  debugLandmarks: field.optionalPath({
    label: 'Debug landmarks folder',
    help: 'Also write each frame with its 68 landmarks drawn, to check the alignment.',
    group: 'Output',
    pathKind: 'dir',
    advanced: true,
  }),
  mirrorPass: field.choice({
    label: 'Mirrored landmark pass',
    help: "Also find the landmarks on the mirrored face and average both (more accurate, per-point confidence): 'photos' (default), 'all' (video too, about 1.6x the time) or 'off'.",
    group: 'Detection',
    choices: ['photos', 'all', 'off'] as const,
    default: 'photos',
    advanced: true,
  }),
  keepNonHuman: field.boolean({
    label: 'Keep non-human faces',
    help: 'Also keep faces the mesh model is unsure are human (animal faces, statues, drawings).',
    group: 'Detection',
    default: false,
    advanced: true,
  }),
  smooth: field.boolean({
    label: 'Smooth landmarks',
    help: 'Temporal smoothing of landmarks on video (One Euro filter): steadier faces, no lag on real motion.',
    group: 'Detection',
    default: true,
  }),
});

export type ExtractOptions = z.output<typeof extractOptions>;

const count = z.int().nonnegative();

/** What an extract run did (src-main/engine/extract/run.ts). */
export const extractResult = z.object({
  alignmentsPath: z.string(),
  outputDir: z.string(),
  /** Frames (or photos) processed in this run. */
  framesProcessed: count,
  /** Frames already in the alignments file and skipped (`--skip-existing`). */
  framesSkipped: count,
  framesWithFaces: count,
  facesFound: count,
  facesWritten: count,
  droppedByIdentity: count,
  droppedBySize: count,
  droppedByBlur: count,
  elapsedMs: z.number(),
  framesPerSecond: z.number(),
  /** Threads that did the work (worker pipelines). */
  workers: count.optional(),
  /** Milliseconds per step over every frame and worker (decode, detect, model, blend, encode...). */
  steps: z.record(z.string(), z.number()).optional(),
});

export const extractStage = defineStage({
  id: 'extract',
  title: 'Extract',
  summary: 'Find, align and save every face of a video, photo or folder, with an alignments file.',
  options: extractOptions,
  result: extractResult,
});
