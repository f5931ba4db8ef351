/**
 * `loadSwapper`: a trained model folder as a FaceSwapper, through the train engine's `loadFaceModel`. Faces of
 * identity A become B by default (shared encoder, then decoder B); `direction: 'b-to-a'` uses decoder A.
 * Errors are one line naming the folder: missing folder, a folder without a Faceswap Studio model (for example
 * a Python faceswap model), a trainer this app does not know, or weights that do not fit the trainer.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { MODEL_STATE_FILE, modelStateSchema, type ModelState } from '../../../src-shared/formats/model-state';
import type { TfBackendChoice, TfBackendName } from '../tf/backend';
import { hasModel, readModelWeights } from '../train/model-io';
import { forwardFlops, trainerConfig, trainers } from '../train/models/index';
import { loadFaceModel, type Direction } from '../train/predict';
import type { FaceSwapper } from './swapper';

/** The direction of a swap: A's faces become B (`a-to-b`, the default) or, with `--swap-model`, B's become A. */
export type SwapDirection = Extract<Direction, 'a-to-b' | 'b-to-a'>;

export function swapDirection(swapModel: boolean): SwapDirection {
  return swapModel ? 'b-to-a' : 'a-to-b';
}

export interface LoadSwapperOptions {
  direction: SwapDirection;
  backend?: TfBackendChoice;
}

export interface LoadedSwapper extends FaceSwapper {
  state: ModelState;
  /** 'backup' when the last save did not load (damaged, cut short) and the backup save was used. */
  from: 'current' | 'backup';
  /** The tfjs backend the model runs on (the thread's: face detection in this thread runs there too). */
  backend: TfBackendName;
}

/** `{ backend }` of a loaded model (the face models of its thread go there too); `{}` for another swapper. */
export function backendOf(s: FaceSwapper): { backend?: TfBackendName } {
  return 'backend' in s && typeof s.backend === 'string' ? { backend: s.backend as TfBackendName } : {};
}

/** The model's forward FLOPs per face, from its state file alone (no weights read); undefined when unreadable. */
export async function modelForwardFlops(dir: string): Promise<number | undefined> {
  try {
    const state = modelStateSchema.parse(JSON.parse(await readFile(join(dir, MODEL_STATE_FILE), 'utf8')));
    return forwardFlops(trainerConfig(state.trainer, state.options));
  } catch {
    return undefined;
  }
}

/** Checks a model folder without loading tfjs (used before any heavy work). */
export async function checkModelFolder(dir: string): Promise<void> {
  let st;
  try {
    st = await stat(dir);
  } catch {
    throw new UserError('not-found', `${dir}: no such model folder`, dir);
  }
  if (!st.isDirectory()) throw new UserError('not-a-file', `${dir}: the model must be a folder written by train`, dir);
  if (!(await hasModel(dir))) {
    throw new UserError(
      'mismatch',
      `${dir}: not a Faceswap Studio model folder (no ${MODEL_STATE_FILE}; models of other trainers, e.g. Python faceswap, cannot be read)`,
      dir,
    );
  }
}

export async function loadSwapper(dir: string, opts: LoadSwapperOptions): Promise<LoadedSwapper> {
  await checkModelFolder(dir);
  const file = join(dir, MODEL_STATE_FILE);
  // Read and hashed once, without the optimizer file (inference never needs it); the model is built from it.
  const files = await readModelWeights(dir);
  const { state, from } = files;
  if (!(state.trainer in trainers)) {
    throw new UserError(
      'mismatch',
      `${file}: trained with '${state.trainer}', which this app does not know (have ${Object.keys(trainers).join(', ')})`,
      file,
    );
  }
  const m = await loadFaceModel(dir, { backend: opts.backend ?? 'auto', files });
  const { direction } = opts;
  return {
    state,
    from,
    backend: m.backend,
    inputSize: m.size,
    outputSize: m.size,
    coverage: m.coverage,
    hasMask: m.hasMask,
    trainer: m.trainer,
    async swap(faces, n) {
      const r = await m.predictAsync(faces.subarray(0, n * m.size * m.size * 3), n, direction);
      return r.mask ? { faces: r.face, masks: r.mask } : { faces: r.face };
    },
    dispose() {
      m.dispose();
    },
  };
}
