/** Options of the `evaluate` stage: measure a swap's quality the way face-swap papers do. */
import { z } from 'zod';
import { BACKEND_CHOICES } from '../backends';
import { qualityReportSchema } from '../formats/quality';
import { defineStage, field } from '../options';

export const evaluateStage = defineStage({
  id: 'evaluate',
  title: 'Evaluate',
  summary: 'Measure a swap: identity, pose, expression, temporal stability and reconstruction quality',
  result: qualityReportSchema,
  options: z.object({
    original: field.path({
      label: 'Original video',
      help: 'the video before the swap',
      group: 'Inputs',
      pathKind: 'file',
    }),
    swapped: field.path({
      label: 'Swapped video',
      help: 'the converted video, frame for frame the same length',
      group: 'Inputs',
      pathKind: 'file',
    }),
    sourceFaces: field.paths({
      label: 'Source identity',
      help: 'aligned faces or photos of the person who was replaced (A)',
      group: 'Identities',
      pathKind: 'file-or-dir',
    }),
    targetFaces: field.paths({
      label: 'Target identity',
      help: 'aligned faces or photos of the person swapped in (B)',
      group: 'Identities',
      pathKind: 'file-or-dir',
    }),
    model: field.optionalPath({
      label: 'Model',
      help: 'model folder, for the A->A and B->B reconstruction scores',
      group: 'Reconstruction',
      pathKind: 'dir',
    }),
    holdoutA: field.optionalPath({
      label: 'Held-out A faces',
      help: 'aligned A faces kept out of training',
      group: 'Reconstruction',
      pathKind: 'dir',
    }),
    holdoutB: field.optionalPath({
      label: 'Held-out B faces',
      help: 'aligned B faces kept out of training',
      group: 'Reconstruction',
      pathKind: 'dir',
    }),
    everyN: field.int({
      label: 'Every Nth frame',
      help: 'measure every Nth frame (temporal metrics always use consecutive frames)',
      group: 'Inputs',
      default: 1,
      min: 1,
      max: 1000,
    }),
    identityEvery: field.int({
      label: 'Identity every Nth measured frame',
      help: 'measure identity and detector confidence on every Nth measured frame only (1: all); larger is faster (the face descriptor is most of the cost) but averages fewer faces',
      group: 'Inputs',
      default: 4,
      min: 1,
      max: 1000,
    }),
    backend: field.choice({
      label: 'Backend',
      help: 'tfjs backend for the face models: auto uses a GPU when there is one (CUDA, WebGPU on a hardware adapter), else wasm',
      group: 'Inputs',
      choices: BACKEND_CHOICES,
      default: 'auto',
      advanced: true,
    }),
    report: field.optionalPath({
      label: 'Report file',
      help: 'where to write the JSON report (default: <swapped>.quality.json)',
      group: 'Output',
      pathKind: 'file',
    }),
  }),
});

export type EvaluateOptions = z.output<typeof evaluateStage.options>;
