/**
 * The segment mask stages (docs/masks.md): `segment-train` trains the small U-Net of engine/mask/segment.ts on the
 * faces that have a painted mask (`<face>.mask.png`, from the Faces view's mask editor), `segment-apply` writes
 * `<face>.segment.png` for every face with a trained model and lists them in the alignments (`masks.segment`),
 * for `convert --mask segment` and the masked trainers.
 */
import { z } from 'zod';
import { BACKEND_CHOICES } from '../backends';
import { defineStage, field } from '../options';

export const SEGMENT_SIZE_CHOICES = ['64', '128', '256'] as const;

const backend = field.choice({
  label: 'Compute backend',
  help: 'auto picks the fastest available (tensorflow CUDA, WebGPU, wasm, cpu)',
  group: 'Compute',
  choices: BACKEND_CHOICES,
  default: 'auto',
  advanced: true,
});

export const segmentTrainStage = defineStage({
  id: 'segment-train',
  title: 'Train segment mask',
  summary:
    'Train the segment mask model on the faces you painted (<face>.mask.png beside each face), with augmentation',
  result: z.object({
    model: z.string(),
    iteration: z.int(),
    faces: z.int(),
    loss: z.number(),
    seconds: z.number(),
    cancelled: z.boolean(),
  }),
  options: z.object({
    input: field.paths({
      label: 'Faces folders',
      help: 'folders of aligned faces; those with a painted mask beside them are trained on',
      group: 'Inputs',
      pathKind: 'dir',
      short: 'i',
    }),
    model: field.path({
      label: 'Segment model',
      help: 'model folder; training resumes when it already holds a segment model (reusable across projects of the same person)',
      group: 'Model',
      pathKind: 'dir',
      short: 'm',
    }),
    size: field.choice({
      label: 'Input size',
      help: 'model input in pixels (the face is resized to it)',
      group: 'Model',
      choices: SEGMENT_SIZE_CHOICES,
      default: '128',
    }),
    iterations: field.int({
      label: 'Iterations',
      help: 'training steps to run in this session',
      group: 'Training',
      default: 1000,
      min: 1,
      max: 1_000_000,
    }),
    batchSize: field.int({
      label: 'Batch size',
      help: 'faces per step',
      group: 'Training',
      default: 8,
      min: 1,
      max: 64,
    }),
    learningRate: field.number({
      label: 'Learning rate',
      help: 'Adam step size',
      group: 'Training',
      default: 1e-3,
      min: 1e-6,
      max: 0.1,
      advanced: true,
    }),
    saveEvery: field.int({
      label: 'Save every',
      help: 'iterations between saves (also saved at the end and when stopped)',
      group: 'Training',
      default: 200,
      min: 1,
      max: 1_000_000,
    }),
    previewEvery: field.int({
      label: 'Preview every',
      help: 'iterations between preview images (masks of a few painted faces)',
      group: 'Training',
      default: 50,
      min: 1,
      max: 1_000_000,
    }),
    seed: field.int({
      label: 'Seed',
      help: 'initial weights and augmentation',
      group: 'Training',
      default: 1,
      min: 0,
      max: 2 ** 31 - 1,
      advanced: true,
    }),
    backend,
  }),
});

export const segmentApplyStage = defineStage({
  id: 'segment-apply',
  title: 'Apply segment mask',
  summary: 'Write <face>.segment.png for every face with a trained segment model and list them in the alignments',
  result: z.object({ faces: z.int(), written: z.int(), recorded: z.int(), cancelled: z.boolean() }),
  options: z.object({
    input: field.paths({
      label: 'Faces folders',
      help: 'folders of aligned faces to mask',
      group: 'Inputs',
      pathKind: 'dir',
      short: 'i',
    }),
    model: field.path({
      label: 'Segment model',
      help: 'a model folder trained by segment-train',
      group: 'Model',
      pathKind: 'dir',
      short: 'm',
    }),
    alignments: field.paths({
      label: 'Alignments',
      help: "alignments files or folders to list the masks in (default: a project's alignments folder, for a project's faces)",
      group: 'Inputs',
      pathKind: 'file-or-dir',
    }),
    backend,
  }),
});

export type SegmentTrainOptions = z.output<typeof segmentTrainStage.options>;
export type SegmentApplyOptions = z.output<typeof segmentApplyStage.options>;
