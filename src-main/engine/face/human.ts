/**
 * Loads @vladmandic/human (its Node WASM build) on the single tfjs-core instance of node_modules, with the
 * models it ships in node_modules/@vladmandic/human/models, read from disk through a file:// load router
 * (never from the network). Human loads and owns the graph models; `detector.ts` runs them on crops it builds
 * itself, so landmarks keep sub-pixel precision (Human's own pipeline truncates mesh coordinates to whole
 * pixels, which shows as jitter on video) and so tracking, tiling and rotation stay under our control.
 *
 * Backend: measured on the 2-core dev machine (Tom Cruise photo, detector + mesh + descriptor):
 * wasm (SIMD, single thread) ~160 ms, cpu ~3600 ms. `wasm` is the default; `cpu` stays selectable. A stage's
 * `--backend auto` picks like training does (`faceBackend`): a GPU when there is one (tfjs-node-gpu's CUDA, WebGPU
 * on a hardware adapter), else wasm; a software WebGPU adapter only when asked for (slower than wasm).
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import type { TfBackendChoice, TfBackendName } from '../../../src-shared/backends';
import { UserError } from '../../../src-shared/errors';
import { settingBackend } from '../tf/setting';

const require = createRequire(import.meta.url);

export type FaceBackend = TfBackendName;

/**
 * The backend a stage's face models run on for its `--backend` choice: an explicit one as it is; `auto` the one
 * training would pick (tf/backend.ts `autoChoice`: CUDA, WebGPU on a hardware adapter, TensorFlow's CPU build,
 * then wasm). Resolved once in the stage's own thread and handed to its workers by name, so no worker probes.
 */
export async function faceBackend(choice: TfBackendChoice | undefined): Promise<FaceBackend> {
  if (choice && choice !== 'auto') return choice;
  const set = settingBackend();
  if (set) return set;
  const { availableBackends } = await import('../tf/backend');
  return (await availableBackends('infer')).chosen ?? 'wasm';
}

export interface FaceModels {
  backend: FaceBackend;
  blazeface: GraphModel;
  facemesh: GraphModel;
  faceres: GraphModel;
  /** Human's descriptor similarity (0..1), see `similarity` below. */
  similarity(a: ArrayLike<number>, b: ArrayLike<number>): number;
  humanVersion: string;
}

/** Folder of @vladmandic/human inside node_modules. */
export function humanPackageDir(): string {
  // The package's exports map has no './package.json'; its node entry lives in dist/.
  return join(dirname(require.resolve('@vladmandic/human')), '..');
}

export function humanModelsDir(): string {
  return join(humanPackageDir(), 'models');
}

let routerRegistered = false;

/** Lets tfjs load `file://.../model.json` (and its weight shards) from disk in Node. */
function registerFileRouter(): void {
  if (routerRegistered) return;
  routerRegistered = true;
  tf.io.registerLoadRouter(((url: string | string[]) => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return null;
    const jsonPath = fileURLToPath(url);
    const handler: tf.io.IOHandler = {
      load: async () => {
        let json: tf.io.ModelJSON;
        try {
          json = JSON.parse(await readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
        } catch (e) {
          throw new UserError('unavailable', `cannot read face model ${jsonPath}: ${(e as Error).message}`, jsonPath);
        }
        return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const specs: tf.io.WeightsManifestEntry[] = [];
          const parts: Buffer[] = [];
          for (const group of manifest) {
            for (const p of group.paths) parts.push(await readFile(join(dirname(jsonPath), p)));
            specs.push(...group.weights);
          }
          const all = Buffer.concat(parts);
          return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer];
        });
      },
    };
    return handler;
  }) as Parameters<typeof tf.io.registerLoadRouter>[0]);
}

interface HumanInstance {
  version: string;
  /** The tfjs namespace Human runs on (ours: tfjs-core and -converter of node_modules). */
  tf: { loadGraphModel(url: string): Promise<GraphModel> };
  load(): Promise<void>;
  init(): Promise<void>;
  models: { models: Record<string, GraphModel | null> };
  match: { similarity(a: number[], b: number[], o?: Record<string, number>): number };
}
interface HumanModule {
  Human: new (config: Record<string, unknown>) => HumanInstance;
  match: { similarity(a: number[], b: number[], o?: Record<string, number>): number };
}

/** The models per backend: each backend holds its own weights (tfjs-backend-webgpu cannot read back synchronously under Node, so weights once moved there could not be moved back). */
const loaded = new Map<FaceBackend, Promise<FaceModels>>();

/**
 * Loads the face models once per process and backend (later calls share them) and makes `backend` (default wasm)
 * the thread's tfjs backend; the weights stay allocated for the life of the process.
 */
export async function loadFaceModels(backend: FaceBackend = 'wasm'): Promise<FaceModels> {
  let p = loaded.get(backend);
  if (!p) {
    p = doLoad(backend);
    loaded.set(backend, p);
    p.catch(() => loaded.delete(backend));
  }
  const models = await p;
  if (tf.getBackend() !== backend) await tf.setBackend(backend);
  return models;
}

async function doLoad(backend: FaceBackend): Promise<FaceModels> {
  registerFileRouter();
  const pkg = humanPackageDir();
  // The Node WASM build requires @tensorflow/tfjs-core, -converter and -backend-wasm: the same instances as ours.
  const H = require(join(pkg, 'dist', 'human.node-wasm.js')) as HumanModule;
  if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const human = new H.Human({
    // Human starts wasm (or cpu) itself; a GPU backend is started below, the way training starts it.
    backend: backend === 'cpu' ? 'cpu' : 'wasm',
    wasmPath: `${wasmDir}/`,
    modelBasePath: `${pathToFileURL(humanModelsDir()).href}/`,
    debug: false,
    async: true,
    warmup: 'none',
    cacheSensitivity: 0,
    face: {
      enabled: true,
      detector: { enabled: true, rotation: false },
      mesh: { enabled: true },
      iris: { enabled: false },
      description: { enabled: true },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
      attention: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
    filter: { enabled: false },
  });
  await human.init();
  if (backend === 'webgpu' || backend === 'tensorflow') {
    // A GPU (or TensorFlow's CPU build): started as training starts it (Dawn's adapter, tfjs-node, the WebGPU
    // kernel fixes), before the models load, so that their weights are created there.
    const { loadTf } = await import('../tf/backend');
    await loadTf({ backend });
  } else if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new UserError('unavailable', `tfjs backend '${backend}' could not be started for face detection`);
  }
  await tf.ready();
  // Loaded here, not by human.load(), which keeps one instance per model for the whole process: the weights are
  // created on this backend, once per backend.
  const load = async (name: string): Promise<GraphModel> => {
    const url = `${pathToFileURL(humanModelsDir()).href}/${name}.json`;
    try {
      return await human.tf.loadGraphModel(url);
    } catch (e) {
      throw new UserError(
        'unavailable',
        `face model ${name} missing or unreadable in ${humanModelsDir()} (need blazeface, facemesh, faceres): ${(e as Error).message}`,
      );
    }
  };
  const [blazeface, facemesh, faceres] = [await load('blazeface'), await load('facemesh'), await load('faceres')];
  return {
    backend,
    blazeface,
    facemesh,
    faceres,
    humanVersion: human.version,
    similarity: (a, b) => H.match.similarity(Array.from(a), Array.from(b)),
  };
}
