/**
 * Loads tfjs on the single tfjs-core instance of node_modules (the CommonJS build that human's Node WASM build
 * requires too: under Node, tsx and vitest `@tensorflow/tfjs-core` resolves to `dist/tf-core.node.js`, so one
 * engine and one kernel registry serve extraction and training) and picks the training backend:
 *
 *   tensorflow (tfjs-node-gpu, optional, loaded at run time) > webgpu on a hardware adapter (Dawn: Vulkan, Metal,
 *   D3D12) > wasm (XNNPACK, with the training kernels it lacks registered) > webgpu on a software adapter > cpu.
 *
 * The order is the measured speed on each kind of machine (../shared/COMPUTE.md): software Vulkan is slower than
 * wasm, the pure-JS cpu backend is the slowest. `--backend` overrides it.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { UserError } from '../../../src-shared/errors';
import { registerTrainingKernels } from './kernels';
import { webgpuAdapterLikely } from './webgpu-probe';

export type TfBackendName = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type TfBackendChoice = 'auto' | TfBackendName;
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
}

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
      return { name, available: tf.findBackendFactory('wasm') != null, detail: 'XNNPACK, 1 thread' };
    }
    case 'tensorflow': {
      // Optional dependency (CUDA libtensorflow): absent on most machines, so a failed import is a fact.
      const spec = '@tensorflow/tfjs-node-gpu';
      try {
        await import(spec);
      } catch (e) {
        const msg = oneLine(e);
        const detail = /Cannot find (package|module)/i.test(msg)
          ? '@tensorflow/tfjs-node-gpu not installed'
          : `@tensorflow/tfjs-node-gpu failed to load (CUDA/cuDNN missing?): ${msg.slice(0, 160)}`;
        return { name, available: false, detail };
      }
      return { name, available: tf.findBackendFactory('tensorflow') != null, gpu: 'CUDA' };
    }
    case 'webgpu': {
      const adapter = await webgpuAdapter();
      if (!adapter.ok) return { name, available: false, detail: adapter.detail };
      await import('@tensorflow/tfjs-backend-webgpu');
      return {
        name,
        available: tf.findBackendFactory('webgpu') != null,
        gpu: adapter.name,
        software: adapter.software,
        detail: `${adapter.name}${adapter.software ? ' (software renderer)' : ''}`,
      };
    }
  }
}

interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
}

async function webgpuAdapter(): Promise<{ ok: true; name: string; software: boolean } | { ok: false; detail: string }> {
  const g = globalThis as unknown as { navigator?: { gpu?: GPULike } };
  if (!g.navigator?.gpu) {
    // Dawn is loaded here only when a child process found an adapter (it warns on stderr about every driver it
    // cannot use; see webgpu-probe.ts).
    if (!webgpuAdapterLikely()) return { ok: false, detail: 'no WebGPU adapter (Vulkan/Metal/D3D12 driver missing or too old)' };
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
  if (!adapter) return { ok: false, detail: 'no WebGPU adapter (Vulkan/Metal/D3D12 driver missing or too old)' };
  const info: AdapterInfoLike = adapter.info ?? {};
  const name =
    [info.vendor, info.architecture, info.device, info.description].filter((s) => s && s.length > 0).join(' ') ||
    'unknown adapter';
  if (/null-backend/i.test(name)) return { ok: false, detail: 'only the null adapter' };
  const software =
    adapter.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software|microsoft basic/i.test(name);
  return { ok: true, name, software };
}

interface GPULike {
  requestAdapter(o?: {
    powerPreference?: string;
  }): Promise<{ info?: AdapterInfoLike; isFallbackAdapter?: boolean } | null>;
}

/** Probes every backend (in preference order) and returns what is there and what `auto` would pick. */
export async function availableBackends(): Promise<{ probes: BackendProbe[]; chosen?: TfBackendName }> {
  const names: TfBackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];
  const list = await Promise.all(names.map((n) => probeBackend(n)));
  return { probes: list, chosen: autoChoice(list) };
}

function autoChoice(list: BackendProbe[]): TfBackendName | undefined {
  const ok = (n: TfBackendName, soft?: boolean) =>
    list.some((p) => p.name === n && p.available && (soft === undefined || (p.software ?? false) === soft));
  if (ok('tensorflow')) return 'tensorflow';
  if (ok('webgpu', false)) return 'webgpu';
  if (ok('wasm')) return 'wasm';
  if (ok('webgpu', true)) return 'webgpu';
  if (ok('cpu')) return 'cpu';
  return undefined;
}

/**
 * Loads tfjs with the requested backend (or the best one available for `auto`), registers the training kernels
 * and gradients tfjs lacks, and returns the namespace. Switching backend later is allowed (`tf.setBackend`).
 */
export async function loadTf(opts: { backend?: TfBackendChoice } = {}): Promise<LoadedTf> {
  // `auto` follows the user's backend setting (the studio passes it to job workers as FSS_BACKEND).
  const setting = process.env.FSS_BACKEND as TfBackendChoice | undefined;
  const fromSetting = setting && ['tensorflow', 'webgpu', 'wasm', 'cpu'].includes(setting) ? setting : undefined;
  const want = opts.backend && opts.backend !== 'auto' ? opts.backend : (fromSetting ?? 'auto');
  // An explicit choice probes only itself and the two CPU backends (no GPU driver start-up, no Dawn warnings).
  const { probes: list, chosen } =
    want === 'auto'
      ? await availableBackends()
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
  if (tf.getBackend() !== name || !tf.engine().backendName) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new UserError('unavailable', `tfjs backend '${name}' failed to initialise`);
  }
  await tf.ready();
  const gpu = probe.gpu;
  return { tf, backend: name, available, probes: list, ...(gpu ? { gpu } : {}) };
}

/** Facts for `doctor`: every backend, the one `auto` picks, its GPU. Never throws. */
export async function tfFacts(): Promise<{
  backends: Array<{ name: string; available: boolean; detail?: string }>;
  chosen?: string;
  gpu?: string;
  error?: string;
}> {
  try {
    const { probes: list, chosen } = await availableBackends();
    const gpu = list.find((p) => p.name === chosen)?.gpu;
    return {
      backends: list.map((p) => ({ name: p.name, available: p.available, ...(p.detail ? { detail: p.detail } : {}) })),
      ...(chosen ? { chosen } : {}),
      ...(gpu ? { gpu } : {}),
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
