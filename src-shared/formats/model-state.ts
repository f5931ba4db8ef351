/**
 * A trained model folder (`-m <model folder>`):
 *   state.json               this schema: trainer, iteration, loss history, options, tensor manifest, and the
 *                            names, sizes and sha256 of the two binaries of this save (the manifest)
 *   weights.<gen>.bin        float32 little-endian, every tensor of `tensors` back to back at its `offset` (in floats)
 *   optimizer.<gen>.bin      Adam moments: all first moments in `tensors` order, then all second moments
 *   state.json.bak           the previous save's manifest (its binaries are kept until a later save drops it)
 *   .lock                    while a process trains in the folder (src-main/engine/util/lock.ts)
 *   snapshots/<iteration>/   copies made every `--snapshot-every` iterations
 * A save writes the binaries of a new generation under new names, then commits them with one atomic rename of
 * state.json (docs/reliability.md): a process killed at any point leaves the last committed save, and the backup
 * is only ever the save committed before it.
 * Folders of earlier versions (state.json + weights.bin + optimizer.bin + *.bak, no file names in `files`) still
 * load: for each binary the reader takes whichever of `<file>` and `<file>.bak` matches the hash.
 */
import { z } from 'zod';

export const MODEL_STATE_FILE = 'state.json';
export const MODEL_WEIGHTS_FILE = 'weights.bin';
export const MODEL_OPTIMIZER_FILE = 'optimizer.bin';
export const MODEL_SNAPSHOTS_DIR = 'snapshots';
/** Binaries of one save: `weights.00000012.bin`, `optimizer.00000012.bin`. */
export const MODEL_BLOB_RE = /^(weights|optimizer)\.(\d{8})\.bin$/;
export const modelBlobName = (kind: 'weights' | 'optimizer', generation: number): string =>
  `${kind}.${String(generation).padStart(8, '0')}.bin`;
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
    /** File names of this save's binaries (absent in folders of earlier versions: weights.bin, optimizer.bin). */
    weights: z.string().regex(MODEL_BLOB_RE).optional(),
    optimizer: z.string().regex(MODEL_BLOB_RE).optional(),
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
