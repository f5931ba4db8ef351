/**
 * A trained model folder (`-m <model folder>`):
 *   state.json     this schema: trainer, iteration, loss history, options, tensor manifest, file hashes
 *   weights.bin    float32 little-endian, every tensor of `tensors` back to back at its `offset` (in floats)
 *   optimizer.bin  Adam moments: all first moments in `tensors` order, then all second moments
 *   *.bak          the previous save of each file (kept by every save)
 *   snapshots/<iteration>/   copies made every `--snapshot-every` iterations
 * A save writes weights.bin, optimizer.bin, then state.json, each atomically. state.json names the sha256 of the
 * two binaries it belongs to, so a reader takes, for each binary, whichever of `<file>` and `<file>.bak` matches:
 * a process killed in the middle of a save leaves either the new model or the previous one, never a mix.
 */
import { z } from 'zod';

export const MODEL_STATE_FILE = 'state.json';
export const MODEL_WEIGHTS_FILE = 'weights.bin';
export const MODEL_OPTIMIZER_FILE = 'optimizer.bin';
export const MODEL_SNAPSHOTS_DIR = 'snapshots';
export const MODEL_STATE_SCHEMA = 'faceswap-studio/model-state/v1';

export const tensorEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.int().min(0)),
  /** Offset in float32 elements within weights.bin (and within each half of optimizer.bin). */
  offset: z.int().min(0),
});

export const modelStateSchema = z.object({
  schema: z.literal(MODEL_STATE_SCHEMA),
  trainer: z.string(),
  /** Model input/output size in pixels and whether it predicts a mask (for the convert stage). */
  inputSize: z.int().positive(),
  outputSize: z.int().positive(),
  hasMask: z.boolean(),
  /** Fraction of the aligned face the model sees (centre crop). */
  coverage: z.number().positive().max(1),
  /** Random seed of the model (initial weights, batch order and augmentation are functions of it). */
  seed: z.int().min(0),
  iteration: z.int().min(0),
  /** Loss of each completed iteration, in order (index i = iteration i+1). */
  lossA: z.array(z.number()),
  lossB: z.array(z.number()),
  optimizer: z.object({
    name: z.literal('adam'),
    step: z.int().min(0),
    learningRate: z.number(),
    beta1: z.number(),
    beta2: z.number(),
    epsilon: z.number(),
  }),
  tensors: z.array(tensorEntrySchema),
  files: z.object({
    weightsSha256: z.string(),
    optimizerSha256: z.string(),
    weightsBytes: z.int(),
    optimizerBytes: z.int(),
  }),
  /** Training options of the last session (JSON-safe). */
  options: z.record(z.string(), z.unknown()),
  backend: z.string().optional(),
  savedAt: z.string(),
  /** Total seconds spent training, over every session. */
  trainSeconds: z.number().min(0).default(0),
});

export type ModelState = z.output<typeof modelStateSchema>;
export type TensorEntry = z.output<typeof tensorEntrySchema>;
