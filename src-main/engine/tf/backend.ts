/**
 * Loads tfjs on the single tfjs-core instance of node_modules (the CommonJS build that human's Node WASM build
 * requires too: under Node, tsx and vitest `@tensorflow/tfjs-core` resolves to `dist/tf-core.node.js`, so one
 * engine and one kernel registry serve extraction and training) and picks the training backend:
 *
 *   tensorflow on CUDA (tfjs-node-gpu, optional, loaded at run time) > webgpu on a hardware adapter (Dawn: Vulkan,
 *   Metal, D3D12) > tensorflow on the CPU (tfjs-node, optional) > wasm (XNNPACK, with the training kernels it lacks
 *   registered) > webgpu on a software adapter (SwiftShader, lavapipe, WARP) > cpu.
 *
 * The order is the measured speed on each kind of machine (../shared/COMPUTE.md): software Vulkan is slower than
 * wasm, the pure-JS cpu backend is the slowest. tfjs-node cannot install here (not measured): it is placed above
 * wasm because TensorFlow's CPU kernels (oneDNN) use every core. `--backend` overrides the order.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { DoctorReport } from '../../../src-shared/doctor';
import { UserError } from '../../../src-shared/errors';
import {
  describeAdapter,
  findSwiftShaderIcd,
  noAdapterHint,
  vulkanDrivers,
  type AdapterFacts,
  type AdapterInfoLike,
} from './gpu-adapter';
import { registerTrainingKernels } from './kernels';
import { registerWebgpuFixes } from './webgpu-kernels';
import { webgpuAdapterLikely } from './webgpu-probe';
import { TF_BACKENDS, type TfBackendChoice, type TfBackendName } from '../../../src-shared/backends';
import { settingBackend } from './setting';

export type { TfBackendChoice, TfBackendName } from '../../../src-shared/backends';
export type Tf = typeof tf;

export interface BackendProbe {
  name: TfBackendName;
  available: boolean;
  /** Why it is unavailable, or a note (adapter, software renderer). */
  detail?: string;
  /** GPU adapter description for tensorflow/webgpu. */
  gpu?: string;
  /** A software (CPU-emulated) GPU adapter: works, but slower than wasm. */
  software?: boolean;
  /** The WebGPU adapter (webgpu only). */
  adapter?: AdapterFacts;
  /** The package that provides the `tensorflow` backend. */
  provider?: TensorflowProvider;
}

/** Providers of the `tensorflow` backend, preferred first: CUDA, then TensorFlow's multi-threaded CPU (oneDNN). */
export const TENSORFLOW_PROVIDERS = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type TensorflowProvider = (typeof TENSORFLOW_PROVIDERS)[number];

export interface LoadedTf {
  tf: Tf;
  backend: TfBackendName;
  available: TfBackendName[];
  probes: BackendProbe[];
  gpu?: string;
}

const require = createRequire(import.meta.url);
const probes = new Map<TfBackendName, Promise<BackendProbe>>();

/** Whether a backend can start here; each probe runs once per process. */
export function probeBackend(name: TfBackendName): Promise<BackendProbe> {
  let p = probes.get(name);
  if (!p) {
    p = doProbe(name).catch((e: unknown) => ({ name, available: false, detail: oneLine(e) }));
    probes.set(name, p);
  }
  return p;
}

async function doProbe(name: TfBackendName): Promise<BackendProbe> {
  switch (name) {
    case 'cpu':
      return { name, available: tf.findBackendFactory('cpu') != null };
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      // One XNNPACK thread per wasm instance; training runs one instance per core (train/parallel.ts).
      const cores = availableParallelism();
      const detail = `XNNPACK; training on ${cores} thread${cores > 1 ? 's (gradient workers)' : ''}`;
      return { name, available: tf.findBackendFactory('wasm') != null, detail };
    }
    case 'tensorflow': {
      // Optional dependencies (their install scripts download libtensorflow): absent on most machines, so a failed
      // import is a fact. CUDA first, then TensorFlow's multi-threaded CPU build.
      const failures: Array<{ spec: TensorflowProvider; message: string }> = [];
      for (const spec of TENSORFLOW_PROVIDERS) {
        try {
          await import(spec);
        } catch (e) {
          failures.push({ spec, message: oneLine(e) });
          continue;
        }
        const cuda = spec === '@tensorflow/tfjs-node-gpu';
        return {
          name,
          available: tf.findBackendFactory('tensorflow') != null,
          provider: spec,
          detail: cuda ? `${spec}, CUDA` : `${spec}, CPU (oneDNN, multi-threaded)`,
          ...(cuda ? { gpu: 'CUDA' } : {}),
        };
      }
      return { name, available: false, detail: tensorflowMissing(failures) };
    }
    case 'webgpu': {
      const adapter = await webgpuAdapter();
      if (!adapter.ok) return { name, available: false, detail: adapter.detail };
      await import('@tensorflow/tfjs-backend-webgpu');
      const { facts } = adapter;
      return {
        name,
        available: tf.findBackendFactory('webgpu') != null,
        gpu: facts.summary,
        software: facts.software,
        adapter: facts,
        detail: facts.software ? `${facts.summary}; slower than wasm, used only when asked for` : facts.summary,
      };
    }
  }
}

async function webgpuAdapter(): Promise<{ ok: true; facts: AdapterFacts } | { ok: false; detail: string }> {
  const g = globalThis as unknown as { navigator?: { gpu?: GPULike } };
  const noAdapter = () =>
    noAdapterHint(
      process.platform,
      process.platform === 'linux' ? vulkanDrivers() : { installed: [] },
      findSwiftShaderIcd(),
    );
  if (!g.navigator?.gpu) {
    // Dawn is loaded here only when a child process found an adapter (it warns on stderr about every driver it
    // cannot use; see webgpu-probe.ts).
    if (!webgpuAdapterLikely()) return { ok: false, detail: `no WebGPU adapter: ${noAdapter()}` };
    let mod: { create(o: string[]): GPULike; globals: object };
    try {
      mod = require('webgpu') as typeof mod;
    } catch (e) {
      return { ok: false, detail: `webgpu package not loadable: ${oneLine(e)}` };
    }
    // Dawn warns (and some Vulkan loaders fail) without XDG_RUNTIME_DIR.
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create([]);
    if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  }
  const gpu = g.navigator?.gpu;
  if (!gpu) return { ok: false, detail: 'no navigator.gpu' };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { ok: false, detail: `no WebGPU adapter: ${noAdapter()}` };
  const info: AdapterInfoLike = adapter.info ?? {};
  if (/null-backend/i.test(`${info.vendor ?? ''} ${info.description ?? ''}`)) {
    return { ok: false, detail: `only Dawn's null adapter: ${noAdapter()}` };
  }
  return { ok: true, facts: describeAdapter(info, { isFallbackAdapter: adapter.isFallbackAdapter === true }) };
}

/** Why neither provider of the `tensorflow` backend loads: not installed, or installed but broken (CUDA, libtensorflow). */
export function tensorflowMissing(failures: Array<{ spec: TensorflowProvider; message: string }>): string {
  // "Cannot find package '<spec>'": absent. Anything else (a missing native binding when its install script did
  // not run, a missing CUDA library) means it is installed but cannot load.
  const broken = failures.filter((f) => !new RegExp(`Cannot find (package|module) '${f.spec}[/']`).test(f.message));
  if (broken.length === 0) {
    return 'not installed (optional: @tensorflow/tfjs-node-gpu for NVIDIA CUDA 11.2 + cuDNN 8.1, @tensorflow/tfjs-node for TensorFlow on all CPU cores)';
  }
  return broken
    .map((f) => {
      // Installed without its native binding: npm 11 runs a dependency's install script only once approved.
      const why = /tfjs_binding\.node/.test(f.message)
        ? ` (its install script did not run or could not download libtensorflow: set "${f.spec}": true in package.json's allowScripts, then npm rebuild ${f.spec})`
        : f.spec.endsWith('-gpu')
          ? ' (CUDA/cuDNN missing?)'
          : '';
      return `${f.spec} failed to load${why}: ${f.message.slice(0, 160)}`;
    })
    .join('; ');
}

interface GPULike {
  requestAdapter(o?: {
    powerPreference?: string;
  }): Promise<{ info?: AdapterInfoLike; isFallbackAdapter?: boolean } | null>;
}

/** Probes every backend (in preference order) and returns what is there and what `auto` would pick. */
export async function availableBackends(
  purpose: TfPurpose = 'infer',
): Promise<{ probes: BackendProbe[]; chosen?: TfBackendName }> {
  const list = await Promise.all(TF_BACKENDS.map((n) => probeBackend(n)));
  return { probes: list, chosen: autoChoice(list, purpose) };
}

/**
 * What a job uses tfjs for. Both choose the same way: training reads tensors asynchronously (one read per step),
 * so it runs on webgpu too (tfjs-backend-webgpu cannot read synchronously under Node).
 */
export type TfPurpose = 'train' | 'infer';

/**
 * What `auto` picks from the probes: a GPU (CUDA, then WebGPU on a hardware adapter), then TensorFlow's CPU build,
 * then wasm; a software WebGPU adapter only when wasm cannot start, the pure-JS cpu backend last.
 */
export function autoChoice(list: readonly BackendProbe[], _purpose: TfPurpose = 'infer'): TfBackendName | undefined {
  const ok = (n: TfBackendName, pred: (p: BackendProbe) => boolean = () => true) =>
    list.some((p) => p.name === n && p.available && pred(p));
  if (ok('tensorflow', (p) => p.gpu !== undefined)) return 'tensorflow';
  if (ok('webgpu', (p) => p.software !== true)) return 'webgpu';
  if (ok('tensorflow')) return 'tensorflow';
  if (ok('wasm')) return 'wasm';
  if (ok('webgpu')) return 'webgpu';
  if (ok('cpu')) return 'cpu';
  return undefined;
}

/**
 * Loads tfjs with the requested backend (or the best one available for `auto`), registers the training kernels
 * and gradients tfjs lacks, and returns the namespace. Switching backend later is allowed (`tf.setBackend`).
 */
export async function loadTf(opts: { backend?: TfBackendChoice; purpose?: TfPurpose } = {}): Promise<LoadedTf> {
  const purpose = opts.purpose ?? 'infer';
  // `auto` follows the user's backend setting (the studio's, configureTfBackend; the CLI's FSS_BACKEND).
  const fromSetting = settingBackend();
  const want = opts.backend && opts.backend !== 'auto' ? opts.backend : (fromSetting ?? 'auto');
  // An explicit choice probes only itself and the two CPU backends (no GPU driver start-up, no Dawn warnings).
  const { probes: list, chosen } =
    want === 'auto'
      ? await availableBackends(purpose)
      : {
          probes: await Promise.all([...new Set<TfBackendName>([want, 'wasm', 'cpu'])].map((n) => probeBackend(n))),
          chosen: want,
        };
  const available = list.filter((p) => p.available).map((p) => p.name);
  const name = want === 'auto' ? chosen : want;
  if (!name) throw new UserError('unavailable', 'no tfjs backend can start here (tried tensorflow, webgpu, wasm, cpu)');
  const probe = list.find((p) => p.name === name);
  if (!probe?.available) {
    throw new UserError('unavailable', `tfjs backend '${name}' is not available here: ${probe?.detail ?? 'unknown'}`);
  }
  ensureGradients();
  registerTrainingKernels(tf);
  if (name === 'webgpu') registerWebgpuFixes(tf);
  if (tf.getBackend() !== name || !tf.engine().backendName) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new UserError('unavailable', `tfjs backend '${name}' failed to initialise`);
  }
  await tf.ready();
  const gpu = probe.gpu;
  return { tf, backend: name, available, probes: list, ...(gpu ? { gpu } : {}) };
}

/** Facts for `doctor`: every backend, the one `auto` picks for training, its GPU. Never throws. */
export async function tfFacts(): Promise<DoctorReport['tfjs']> {
  try {
    const { probes: list, chosen } = await availableBackends('train');
    const gpu = list.find((p) => p.name === chosen)?.gpu;
    const webgpu = list.find((p) => p.name === 'webgpu');
    return {
      backends: list.map((p) => ({
        name: p.name,
        available: p.available,
        ...(p.detail ? { detail: p.detail } : {}),
        ...(p.software ? { software: true } : {}),
      })),
      ...(chosen ? { chosen } : {}),
      ...(gpu ? { gpu } : {}),
      ...(webgpu?.adapter ? { adapter: webgpu.adapter } : {}),
      ...(webgpu && !webgpu.available && webgpu.detail ? { gpuHint: webgpu.detail } : {}),
    };
  } catch (e) {
    return { backends: [], error: oneLine(e) };
  }
}

let gradientsLoaded = false;
/**
 * The gradients of tfjs-core's ops are registered by the `@tensorflow/tfjs` union bundle (the CommonJS one,
 * which requires the same tfjs-core; the registries are process globals), not by tfjs-core itself.
 */
function ensureGradients(): void {
  if (gradientsLoaded) return;
  if (!tf.getGradient('Conv2D')) require('@tensorflow/tfjs');
  gradientsLoaded = true;
}

function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}
