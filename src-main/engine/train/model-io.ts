/**
 * Model folder I/O (format: src-shared/formats/model-state.ts; protocol: docs/reliability.md). A save is
 * write-ahead: the weights and optimizer binaries of a new generation go under names no committed save uses,
 * then one atomic rename of state.json (the manifest naming them, with sizes and hashes) commits them; the
 * manifest it replaces becomes state.json.bak. Binaries neither manifest names are removed after the commit.
 * A process killed at any point (any number of times in a row) leaves the last committed save, and the backup
 * is only ever a save that was committed before it, never a file a killed save left behind.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isUserError, UserError } from '../../../src-shared/errors';
import {
  MODEL_BLOB_RE,
  MODEL_OPTIMIZER_FILE,
  MODEL_SNAPSHOTS_DIR,
  MODEL_STATE_FILE,
  MODEL_STATE_SCHEMA,
  MODEL_WEIGHTS_FILE,
  modelBlobName,
  modelStateSchema,
  type ModelState,
  type TensorEntry,
} from '../../../src-shared/formats/model-state';
import { sweepTemps, writeFileAtomicSafe, writeJsonAtomic } from '../util/atomic-write';
import { faultPoint } from '../util/faults';
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

/**
 * The weights of a model as one Float32Array plus the manifest (variable order = creation order). Read
 * asynchronously, all at once (webgpu cannot read synchronously under Node).
 */
export async function exportWeights(model: FaceModel): Promise<{ data: Float32Array; tensors: TensorEntry[] }> {
  const tensors: TensorEntry[] = [];
  let total = 0;
  for (const [name, v] of model.params.vars) {
    tensors.push({ name, shape: [...v.shape], offset: total });
    total += v.size;
  }
  const data = new Float32Array(total);
  const values = await Promise.all([...model.params.vars.values()].map((v) => v.data()));
  values.forEach((x, i) => data.set(x as Float32Array, tensors[i]?.offset ?? 0));
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

const BACKUP_STATE_FILE = `${MODEL_STATE_FILE}.bak`;

/** Saves the model: new binaries under the next generation's names, then the manifest commits them. */
export async function saveModel(dir: string, model: FaceModel, adam: Adam, fields: StateFields): Promise<ModelState> {
  try {
    return await writeSave(dir, model, adam, fields);
  } catch (e) {
    // A full disk: one line naming the folder and the file; the last committed save is untouched.
    if (!isUserError(e) || e.code !== 'unwritable') throw e;
    const { file, message } = e;
    const problem =
      file && message.startsWith(`${file}: `) ? `${basename(file)}: ${message.slice(file.length + 2)}` : message;
    throw new UserError('unwritable', `${dir}: the model was not saved (${problem}); the last save is kept`, dir);
  }
}

async function writeSave(dir: string, model: FaceModel, adam: Adam, fields: StateFields): Promise<ModelState> {
  await mkdir(dir, { recursive: true });
  const { data, tensors } = await exportWeights(model);
  const moments = await adam.exportMoments();
  const wBytes = asBytes(data);
  const oBytes = asBytes(moments);
  const names = await readdir(dir);
  const generation = 1 + Math.max(0, ...names.map((n) => Number(MODEL_BLOB_RE.exec(n)?.[2] ?? 0)));
  const state: ModelState = {
    schema: MODEL_STATE_SCHEMA,
    ...fields,
    optimizer: { ...fields.optimizer, name: 'adam', step: adam.step },
    tensors,
    files: {
      weights: modelBlobName('weights', generation),
      optimizer: modelBlobName('optimizer', generation),
      weightsSha256: sha256(wBytes),
      optimizerSha256: sha256(oBytes),
      weightsBytes: wBytes.byteLength,
      optimizerBytes: oBytes.byteLength,
    },
    savedAt: new Date().toISOString(),
  };
  const blobs = [state.files.weights, state.files.optimizer] as string[];
  try {
    await writeFileAtomicSafe(join(dir, blobs[0] as string), wBytes);
    faultPoint('model:weights');
    await writeFileAtomicSafe(join(dir, blobs[1] as string), oBytes);
    faultPoint('model:binaries');
    // The manifest being replaced becomes the backup only when it is a save that loads (its binaries are all
    // there): a folder damaged by hand keeps its older, good backup.
    const previous = await committedState(dir, MODEL_STATE_FILE);
    await writeJsonAtomic(join(dir, MODEL_STATE_FILE), state, {
      backup: previous !== null && (await binariesPresent(dir, previous)),
    });
  } catch (e) {
    // Not committed: this generation's binaries go now (a killed save's go at the next start-up sweep).
    if ((await committedState(dir, MODEL_STATE_FILE))?.files.weights !== blobs[0])
      for (const f of blobs) await rm(join(dir, f), { force: true }).catch(() => undefined);
    throw e;
  }
  faultPoint('model:committed');
  await dropUnreferenced(dir);
  return state;
}

/** A manifest of the folder, or null when missing or not valid. */
async function committedState(dir: string, name: string): Promise<ModelState | null> {
  const raw = await tryRead(join(dir, name));
  if (!raw) return null;
  try {
    return modelStateSchema.parse(JSON.parse(raw.toString('utf8')));
  } catch {
    return null;
  }
}

/** The binaries a manifest uses: its named generation, or (earlier versions) the fixed names and their .bak. */
function referenced(state: ModelState): string[] {
  if (state.files.weights && state.files.optimizer) return [state.files.weights, state.files.optimizer];
  return [MODEL_WEIGHTS_FILE, MODEL_OPTIMIZER_FILE].flatMap((f) => [f, `${f}.bak`]);
}

async function binariesPresent(dir: string, state: ModelState): Promise<boolean> {
  if (!state.files.weights || !state.files.optimizer) return true; // earlier version: checked by hash on load
  const size = (f: string) =>
    stat(join(dir, f)).then(
      (s) => s.size,
      () => -1,
    );
  return (
    (await size(state.files.weights)) === state.files.weightsBytes &&
    (await size(state.files.optimizer)) === state.files.optimizerBytes
  );
}

/** Removes binaries that neither state.json nor state.json.bak names (older saves, a killed save's files). */
async function dropUnreferenced(dir: string): Promise<void> {
  const keep = new Set<string>();
  for (const name of [MODEL_STATE_FILE, BACKUP_STATE_FILE]) {
    const s = await committedState(dir, name);
    if (s) for (const f of referenced(s)) keep.add(f);
  }
  const legacy = [MODEL_WEIGHTS_FILE, MODEL_OPTIMIZER_FILE].flatMap((f) => [f, `${f}.bak`]);
  for (const name of await readdir(dir)) {
    if (keep.has(name) || !(MODEL_BLOB_RE.test(name) || legacy.includes(name))) continue;
    await rm(join(dir, name), { force: true });
  }
}

/**
 * Start-up sweep of a model folder (call with its lock held): temporary files of killed writers, binaries no
 * manifest names (a save killed before its commit), and the temp files of earlier versions. Returns the names.
 */
export async function sweepModelFolder(dir: string): Promise<string[]> {
  const legacyTemps = new RegExp(
    `^(${[MODEL_WEIGHTS_FILE, MODEL_OPTIMIZER_FILE, MODEL_STATE_FILE].map((f) => f.replace('.', '\\.')).join('|')})(\\.bak\\.tmp|\\.\\d+)$`,
  );
  const removed = await sweepTemps(dir, [legacyTemps]);
  if (await hasModel(dir)) {
    const before = new Set(await readdir(dir));
    await dropUnreferenced(dir);
    const after = new Set(await readdir(dir));
    for (const n of before) if (!after.has(n) && MODEL_BLOB_RE.test(n)) removed.push(n);
  }
  return removed;
}

export interface LoadedModelFiles {
  state: ModelState;
  weights: Float32Array;
  /** Adam moments (null when only the weights could be recovered). */
  optimizer: Float32Array | null;
  /** The weights file that was read (for messages). */
  weightsFile: string;
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

async function readBinary(path: string, sha: string, bytes: number): Promise<Float32Array | null> {
  const buf = await tryRead(path);
  if (!buf || buf.byteLength !== bytes || sha256(buf) !== sha) return null;
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  return new Float32Array(ab);
}

/** A binary of a save: the file its manifest names, or (earlier versions) whichever of `<file>`, `<file>.bak` matches. */
async function pick(
  dir: string,
  named: string | undefined,
  legacy: string,
  sha: string,
  bytes: number,
): Promise<Float32Array | null> {
  for (const f of named ? [named] : [legacy, `${legacy}.bak`]) {
    const data = await readBinary(join(dir, f), sha, bytes);
    if (data) return data;
  }
  return null;
}

export async function hasModel(dir: string): Promise<boolean> {
  for (const f of [MODEL_STATE_FILE, BACKUP_STATE_FILE]) {
    try {
      await stat(join(dir, f));
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/**
 * Reads the newest consistent save of a model folder (state.json, else state.json.bak): the weights, checked by
 * size and hash, and the Adam moments unless `optimizer: false` (inference: see `readModelWeights`).
 */
export async function readModelFiles(dir: string, opts: { optimizer?: boolean } = {}): Promise<LoadedModelFiles> {
  const problems: string[] = [];
  for (const [name, from] of [
    [MODEL_STATE_FILE, 'current'],
    [BACKUP_STATE_FILE, 'backup'],
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
    const { files } = state;
    const weights = await pick(dir, files.weights, MODEL_WEIGHTS_FILE, files.weightsSha256, files.weightsBytes);
    if (!weights) {
      problems.push(`${name}: no weights file matches it`);
      continue;
    }
    const optimizer =
      opts.optimizer === false
        ? null
        : await pick(dir, files.optimizer, MODEL_OPTIMIZER_FILE, files.optimizerSha256, files.optimizerBytes);
    return { state, weights, optimizer, from, weightsFile: join(dir, files.weights ?? MODEL_WEIGHTS_FILE) };
  }
  const file = join(dir, MODEL_STATE_FILE);
  throw new UserError(
    'bad-file',
    `${file}: no loadable model in this folder${problems.length ? ` (${problems.join('; ')})` : ''}`,
    file,
  );
}

/** Copies the current save into snapshots/<iteration>/ (a model folder of its own, written like a save). */
export async function snapshotModel(dir: string, iteration: number): Promise<string> {
  const to = join(dir, MODEL_SNAPSHOTS_DIR, String(iteration).padStart(8, '0'));
  await mkdir(to, { recursive: true });
  const state = await committedState(dir, MODEL_STATE_FILE);
  if (!state) throw new UserError('bad-file', `${join(dir, MODEL_STATE_FILE)}: no save to snapshot`, dir);
  for (const f of referenced(state)) {
    const buf = await tryRead(join(dir, f));
    if (buf) await writeFileAtomicSafe(join(to, f), buf);
  }
  await writeJsonAtomic(join(to, MODEL_STATE_FILE), state);
  return to;
}

/**
 * The inference-only load (convert, its preview, evaluate): the newest consistent save's state and weights, read
 * and hashed once; the optimizer file, which only training needs, is never read (`optimizer` is null).
 */
export function readModelWeights(dir: string): Promise<LoadedModelFiles> {
  return readModelFiles(dir, { optimizer: false });
}
