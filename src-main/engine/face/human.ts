/**
 * Loads @vladmandic/human (its Node WASM build) on the single tfjs-core instance of node_modules, with the
 * models it ships in node_modules/@vladmandic/human/models, read from disk through a file:// load router
 * (never from the network). Human loads and owns the graph models; `detector.ts` runs them on crops it builds
 * itself, so landmarks keep sub-pixel precision (Human's own pipeline truncates mesh coordinates to whole
 * pixels, which shows as jitter on video) and so tracking, tiling and rotation stay under our control.
 *
 * Backend: measured on the 2-core dev machine (Tom Cruise photo, detector + mesh + descriptor):
 * wasm (SIMD, single thread) ~160 ms, cpu ~3600 ms. `wasm` is the default; `cpu` stays selectable.
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { UserError } from '../../../src-shared/errors';

const require = createRequire(import.meta.url);

export type FaceBackend = 'wasm' | 'cpu';

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
  load(): Promise<void>;
  init(): Promise<void>;
  models: { models: Record<string, GraphModel | null> };
  match: { similarity(a: number[], b: number[], o?: Record<string, number>): number };
}
interface HumanModule {
  Human: new (config: Record<string, unknown>) => HumanInstance;
  match: { similarity(a: number[], b: number[], o?: Record<string, number>): number };
}

let loading: Promise<FaceModels> | null = null;
let loadedBackend: FaceBackend | null = null;

/**
 * Loads the face models once per process (later calls share them). The tfjs backend is set to `backend`
 * (default wasm) when the models load; the weights stay allocated for the life of the process.
 */
export function loadFaceModels(backend: FaceBackend = 'wasm'): Promise<FaceModels> {
  if (loading && loadedBackend === backend) return loading;
  loadedBackend = backend;
  loading = doLoad(backend).catch((e: unknown) => {
    loading = null;
    throw e;
  });
  return loading;
}

async function doLoad(backend: FaceBackend): Promise<FaceModels> {
  registerFileRouter();
  const pkg = humanPackageDir();
  // The Node WASM build requires @tensorflow/tfjs-core, -converter and -backend-wasm: the same instances as ours.
  const H = require(join(pkg, 'dist', 'human.node-wasm.js')) as HumanModule;
  if (backend === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const human = new H.Human({
    backend,
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
  if (tf.getBackend() !== backend) {
    const ok = await tf.setBackend(backend);
    if (!ok) throw new UserError('unavailable', `tfjs backend '${backend}' could not be started for face detection`);
  }
  await tf.ready();
  await human.load();
  const m = human.models.models;
  const blazeface = m['blazeface'] ?? null;
  const facemesh = m['facemesh'] ?? null;
  const faceres = m['faceres'] ?? null;
  if (!blazeface || !facemesh || !faceres) {
    throw new UserError(
      'unavailable',
      `face models missing in ${humanModelsDir()} (need blazeface, facemesh, faceres)`,
    );
  }
  return {
    backend,
    blazeface,
    facemesh,
    faceres,
    humanVersion: human.version,
    similarity: (a, b) => H.match.similarity(Array.from(a), Array.from(b)),
  };
}
