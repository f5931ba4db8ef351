/**
 * `faceswap-studio train -A <faces A> -B <faces B> -m <model folder> [options]`: trains a face-swap model on two
 * folders of aligned faces (the curated output of extract). `--iterations` is the total to reach: running again
 * on the same model folder resumes from its last save.
 */
import { z } from 'zod';
import { BACKEND_CHOICES, TF_BACKENDS } from '../backends';
import { defineStage, field } from '../options';
import { saeTrainerOptions } from './train-sae';

export const TRAINERS = ['original', 'lightweight', 'masked128', 'sae'] as const;
export type TrainerName = (typeof TRAINERS)[number];
/** Loss functions of a loss list (`--loss mae:1,ssim:0.5`; src-main/engine/train/loss.ts). */
export const TRAIN_LOSSES = ['mae', 'mse', 'ssim', 'ms-ssim'] as const;
const LOSS_TERM = `(?:${TRAIN_LOSSES.join('|')})(?::(?:\\d+\\.?\\d*|\\.\\d+))?`;
/** A loss list: terms joined by `,` or `+`, each `name` or `name:weight`. */
export const LOSS_LIST = new RegExp(`^\\s*${LOSS_TERM}(?:\\s*[,+]\\s*${LOSS_TERM})*\\s*$`);
export const LR_SCHEDULES = ['constant', 'cosine'] as const;
/**
 * The defaults, chosen by measurement (docs/quality.md, "Choosing the defaults"): seeded runs compared by
 * iterations, reconstruction SSIM of the training faces. Before issue 12: 5e-5 and `mae` (faceswap's habit).
 */
export const DEFAULT_LEARNING_RATE = 3e-4;
export const DEFAULT_LOSS = 'mae+ssim';

const count = z.int().nonnegative();

/** What a training session did (src-main/engine/train/trainer.ts). */
export const trainResult = z.object({
  trainer: z.string(),
  backend: z.enum(TF_BACKENDS),
  modelDir: z.string(),
  startIteration: count,
  iteration: count,
  lossA: z.number(),
  lossB: z.number(),
  /** Mean EGs/s of this session (faces per second, both sides). */
  egs: z.number(),
  previewPath: z.string().optional(),
  stopped: z.boolean(),
  resumed: z.boolean(),
  facesA: count,
  facesB: count,
  adamMode: z.enum(['device', 'host']),
  /** Threads that computed gradients (gradient workers on the CPU backends, else 1). */
  threads: count,
});

export const trainStage = defineStage({
  id: 'train',
  title: 'Train',
  summary: 'Train a face-swap model on two folders of aligned faces; resumes from the model folder.',
  result: trainResult,
  options: z.object({
    inputA: field.path({
      label: 'Faces A',
      help: 'Folder of aligned faces of person A (the face to replace)',
      group: 'Input',
      short: 'A',
      flag: 'input-a',
      pathKind: 'dir',
    }),
    inputB: field.path({
      label: 'Faces B',
      help: 'Folder of aligned faces of person B (the face to put in)',
      group: 'Input',
      short: 'B',
      flag: 'input-b',
      pathKind: 'dir',
    }),
    modelDir: field.path({
      label: 'Model folder',
      help: 'Where the model is saved; an existing model is resumed',
      group: 'Input',
      short: 'm',
      flag: 'model-dir',
      pathKind: 'dir',
    }),
    trainer: field.choice({
      label: 'Trainer',
      help: 'Model: original (64 px, classic), lightweight (64 px, trains on a CPU), masked128 (128 px, learns a face mask), sae (DFL-SAE, 64-256 px, df or liae, learns a face mask; --sae-* options)',
      group: 'Model',
      short: 't',
      choices: TRAINERS,
      default: 'original',
    }),
    batchSize: field.int({
      label: 'Batch size',
      help: 'Faces of each side per iteration',
      group: 'Training',
      short: 'b',
      default: 16,
      min: 1,
      max: 256,
    }),
    iterations: field.int({
      label: 'Iterations',
      help: 'Total iterations to reach (a resumed model continues its count)',
      group: 'Training',
      short: 'i',
      default: 1_000_000,
      min: 1,
      max: 100_000_000,
    }),
    saveEvery: field.int({
      label: 'Save every',
      help: 'Save the model every N iterations (and on stop)',
      group: 'Saving',
      short: 's',
      default: 250,
      min: 1,
    }),
    snapshotEvery: field.int({
      label: 'Snapshot every',
      help: 'Keep a copy of the model every N iterations (0 = never)',
      group: 'Saving',
      default: 0,
      min: 0,
    }),
    previewEvery: field.int({
      label: 'Preview every',
      help: 'Write the preview grid every N iterations (0 = never)',
      group: 'Preview',
      default: 250,
      min: 0,
    }),
    previewEverySeconds: field.int({
      label: 'Preview every (seconds)',
      help: 'Also write the preview grid every N seconds of training (0 = by iterations only); a CPU iteration can take seconds',
      group: 'Preview',
      default: 0,
      min: 0,
    }),
    previewDir: field.optionalPath({
      label: 'Preview folder',
      help: 'Where preview.png is written (default: the model folder)',
      group: 'Preview',
      pathKind: 'dir',
    }),
    timelapse: field.optionalPath({
      label: 'Timelapse folder',
      help: 'Also keep each preview as <iteration>.png in this folder',
      group: 'Preview',
      pathKind: 'dir',
    }),
    learningRate: field.number({
      label: 'Learning rate',
      help: 'Adam learning rate (3e-4: measured against 5e-5 by reconstruction at a fixed iteration count, docs/quality.md)',
      group: 'Training',
      default: DEFAULT_LEARNING_RATE,
      min: 1e-7,
      max: 1e-1,
      advanced: true,
    }),
    learningRateWarmup: field.int({
      label: 'Warmup',
      help: 'Iterations over which the learning rate rises linearly from 0 (no early loss spike)',
      group: 'Training',
      flag: 'lr-warmup',
      default: 0,
      min: 0,
      advanced: true,
    }),
    learningRateSchedule: field.choice({
      label: 'Schedule',
      help: 'After the warmup: constant, or cosine decay to a tenth at --iterations',
      group: 'Training',
      flag: 'lr-schedule',
      choices: LR_SCHEDULES,
      default: 'constant',
      advanced: true,
    }),
    loss: field.string({
      label: 'Loss',
      help: `Reconstruction loss list, weighted: for example mae, mae+ssim, mae:1,ms-ssim:0.5 (${TRAIN_LOSSES.join(', ')})`,
      group: 'Training',
      default: DEFAULT_LOSS,
      pattern: LOSS_LIST,
      patternHelp: `a loss list such as mae:1,ssim:0.5 (losses: ${TRAIN_LOSSES.join(', ')})`,
    }),
    eyeMultiplier: field.number({
      label: 'Eye multiplier',
      help: 'Loss weight of the eye regions (from the landmarks each aligned face carries); 1 = like the rest',
      group: 'Training',
      default: 1,
      min: 1,
      max: 40,
      advanced: true,
    }),
    mouthMultiplier: field.number({
      label: 'Mouth multiplier',
      help: 'Loss weight of the mouth region (from the landmarks each aligned face carries); 1 = like the rest',
      group: 'Training',
      default: 1,
      min: 1,
      max: 40,
      advanced: true,
    }),
    maskLoss: field.boolean({
      label: 'Mask-weighted loss',
      help: "Masked trainers: the face loss counts inside the face mask only (the background is the mask's job)",
      group: 'Training',
      default: true,
      advanced: true,
    }),
    warp: field.boolean({
      label: 'Random warp',
      help: 'Randomly warp the input faces (--no-warp to fine-tune a converged model)',
      group: 'Augmentation',
      default: true,
    }),
    warpToLandmarks: field.boolean({
      label: 'Warp to landmarks',
      help: 'Instead of the random warp, warp each input to the landmarks of a similar face of the other side',
      group: 'Augmentation',
      default: false,
      advanced: true,
    }),
    flip: field.boolean({
      label: 'Random flip',
      help: 'Randomly flip faces horizontally',
      group: 'Augmentation',
      default: true,
    }),
    colorAugment: field.boolean({
      label: 'Colour augmentation',
      help: 'Random brightness, contrast and colour shifts',
      group: 'Augmentation',
      default: false,
      advanced: true,
    }),
    coverage: field.number({
      label: 'Coverage',
      help: 'Fraction of the aligned face the model sees (centre crop)',
      group: 'Model',
      default: 0.75,
      min: 0.5,
      max: 1,
      advanced: true,
    }),
    backend: field.choice({
      label: 'Backend',
      help: 'Compute backend: auto picks the fastest available (tensorflow CUDA, WebGPU, wasm, cpu)',
      group: 'Hardware',
      choices: BACKEND_CHOICES,
      default: 'auto',
    }),
    threads: field.int({
      label: 'CPU threads',
      help: 'Cores that train on the CPU backends (wasm, cpu), one gradient worker each; 0 uses every core',
      group: 'Hardware',
      default: 0,
      min: 0,
      max: 256,
      advanced: true,
    }),
    seed: field.optionalNumber({
      label: 'Seed',
      help: 'Random seed (initial weights, augmentation) for reproducible runs',
      group: 'Training',
      int: true,
      min: 0,
      advanced: true,
    }),
    ...saeTrainerOptions,
  }),
});

export type TrainOptions = z.output<typeof trainStage.options>;
