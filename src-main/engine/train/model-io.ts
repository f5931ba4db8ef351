/**
 * Model folder I/O (format: src-shared/formats/model-state.ts). Saves are atomic per file, keep the previous
 * save as `.bak`, and are tied together by the hashes in state.json, so a kill at any point of a save leaves a
 * loadable model: the new one or the previous one.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import {
  MODEL_OPTIMIZER_FILE,
  MODEL_SNAPSHOTS_DIR,
  MODEL_STATE_FILE,
  MODEL_STATE_SCHEMA,
  MODEL_WEIGHTS_FILE,
  modelStateSchema,
  type ModelState,
  type TensorEntry,
} from '../../../src-shared/formats/model-state';
import { writeFileAtomicSafe, writeJsonAtomic } from '../util/atomic-write';
import type { Adam } from './adam';
import type { FaceModel } from './models/index';

export type StateFields = Omit<ModelState, 'schema' | 'tensors' | 'files' | 'savedAt' | 'optimizer'> & {
  optimizer: Omit<ModelState['optimizer'], 'step'>;
};

function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

function asBytes(f: Float32Array): Uint8Array {
  return new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
}

/** The weights of a model as one Float32Array plus the manifest (variable order = creation order). */
export function exportWeights(model: FaceModel): { data: Float32Array; tensors: TensorEntry[] } {
  const tensors: TensorEntry[] = [];
  let total = 0;
  for (const [name, v] of model.params.vars) {
    tensors.push({ name, shape: [...v.shape], offset: total });
    total += v.size;
  }
  const data = new Float32Array(total);
  let i = 0;
  for (const v of model.params.vars.values()) {
    data.set(v.dataSync() as Float32Array, tensors[i]?.offset ?? 0);
    i++;
  }
  return { data, tensors };
}

export function importWeights(
  model: FaceModel,
  tensors: readonly TensorEntry[],
  data: Float32Array,
  file: string,
): void {
  const tf = model.params.tf;
  const byName = new Map(tensors.map((t) => [t.name, t]));
  for (const [name, v] of model.params.vars) {
    const t = byName.get(name);
    if (!t || t.shape.join('x') !== v.shape.join('x')) {
      throw new UserError(
        'mismatch',
        `${file}: tensor ${name} is ${t ? t.shape.join('x') : 'missing'}, the ${model.config.name} model needs ${v.shape.join('x')}`,
        file,
      );
    }
    const part = data.subarray(t.offset, t.offset + v.size);
    if (part.length !== v.size) throw new UserError('bad-file', `${file}: weights file is truncated`, file);
    const tensor = tf.tensor(part, v.shape);
    v.assign(tensor);
    tensor.dispose();
  }
}

/** Writes weights, optimizer state and state.json (in that order), each atomically with a backup. */
export async function saveModel(dir: string, model: FaceModel, adam: Adam, fields: StateFields): Promise<ModelState> {
  await mkdir(dir, { recursive: true });
  await removeStaleTemps(dir);
  const { data, tensors } = exportWeights(model);
  const moments = adam.exportMoments();
  const wBytes = asBytes(data);
  const oBytes = asBytes(moments);
  const state: ModelState = {
    schema: MODEL_STATE_SCHEMA,
    ...fields,
    optimizer: { ...fields.optimizer, name: 'adam', step: adam.step },
    tensors,
    files: {
      weightsSha256: sha256(wBytes),
      optimizerSha256: sha256(oBytes),
      weightsBytes: wBytes.byteLength,
      optimizerBytes: oBytes.byteLength,
    },
    savedAt: new Date().toISOString(),
  };
  await writeFileAtomicSafe(join(dir, MODEL_WEIGHTS_FILE), wBytes, { backup: true });
  await writeFileAtomicSafe(join(dir, MODEL_OPTIMIZER_FILE), oBytes, { backup: true });
  await writeJsonAtomic(join(dir, MODEL_STATE_FILE), state, { backup: true });
  return state;
}

/** Temporary files of an atomic write that a killed process left behind (`weights.bin.123456789`). */
async function removeStaleTemps(dir: string): Promise<void> {
  const re = new RegExp(
    `^(${[MODEL_WEIGHTS_FILE, MODEL_OPTIMIZER_FILE, MODEL_STATE_FILE].map((f) => f.replace('.', '\\.')).join('|')})(\\.bak\\.tmp|\\.\\d+)$`,
  );
  for (const name of await readdir(dir)) if (re.test(name)) await rm(join(dir, name), { force: true });
}

export interface LoadedModelFiles {
  state: ModelState;
  weights: Float32Array;
  /** Adam moments (null when only the weights could be recovered). */
  optimizer: Float32Array | null;
  /** Which state file was used: the current one or the backup. */
  from: 'current' | 'backup';
}

async function tryRead(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch {
    return null;
  }
}

async function pick(dir: string, file: string, sha: string, bytes: number): Promise<Float32Array | null> {
  for (const p of [join(dir, file), join(dir, `${file}.bak`)]) {
    const buf = await tryRead(p);
    if (buf && buf.byteLength === bytes && sha256(buf) === sha) {
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
      return new Float32Array(ab);
    }
  }
  return null;
}

export async function hasModel(dir: string): Promise<boolean> {
  for (const f of [MODEL_STATE_FILE, `${MODEL_STATE_FILE}.bak`]) {
    try {
      await stat(join(dir, f));
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/** Reads the newest consistent save of a model folder (state.json, else state.json.bak). */
export async function readModelFiles(dir: string): Promise<LoadedModelFiles> {
  const problems: string[] = [];
  for (const [name, from] of [
    [MODEL_STATE_FILE, 'current'],
    [`${MODEL_STATE_FILE}.bak`, 'backup'],
  ] as const) {
    const raw = await tryRead(join(dir, name));
    if (!raw) continue;
    let state: ModelState;
    try {
      state = modelStateSchema.parse(JSON.parse(raw.toString('utf8')));
    } catch (e) {
      problems.push(`${name}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      continue;
    }
    const weights = await pick(dir, MODEL_WEIGHTS_FILE, state.files.weightsSha256, state.files.weightsBytes);
    if (!weights) {
      problems.push(`${name}: no weights file matches it`);
      continue;
    }
    const optimizer = await pick(dir, MODEL_OPTIMIZER_FILE, state.files.optimizerSha256, state.files.optimizerBytes);
    return { state, weights, optimizer, from };
  }
  const file = join(dir, MODEL_STATE_FILE);
  throw new UserError(
    'bad-file',
    `${file}: no loadable model in this folder${problems.length ? ` (${problems.join('; ')})` : ''}`,
    file,
  );
}

/** Copies the current save into snapshots/<iteration>/. */
export async function snapshotModel(dir: string, iteration: number): Promise<string> {
  const to = join(dir, MODEL_SNAPSHOTS_DIR, String(iteration).padStart(8, '0'));
  await mkdir(to, { recursive: true });
  for (const f of [MODEL_WEIGHTS_FILE, MODEL_OPTIMIZER_FILE, MODEL_STATE_FILE])
    await copyFile(join(dir, f), join(to, f));
  return to;
}
