/** Backend loading: one tfjs-core instance for us and human, auto choice, explicit choices, doctor facts. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as tfCore from '@tensorflow/tfjs-core';
import {
  TENSORFLOW_PROVIDERS,
  autoChoice,
  loadTf,
  probeBackend,
  tensorflowMissing,
  tfFacts,
  type BackendProbe,
  type TensorflowProvider,
} from '../../src-main/engine/tf/backend';
import { describeAdapter, noAdapterHint } from '../../src-main/engine/tf/gpu-adapter';
import { isUserError } from '../../src-shared/errors';

const req = createRequire(import.meta.url);
/** tfjs-node(-gpu) cannot install here (its install script downloads libtensorflow); the probe test needs it absent. */
const tensorflowInstalled = TENSORFLOW_PROVIDERS.some((spec) => {
  try {
    req.resolve(`${spec}/package.json`);
    return true;
  } catch {
    return false;
  }
});

describe('loadTf', () => {
  it('uses the same tfjs-core instance that CommonJS consumers (human node-wasm) require', async () => {
    const { tf } = await loadTf({ backend: 'cpu' });
    const req = createRequire(import.meta.url);
    const cjs = req('@tensorflow/tfjs-core') as typeof tfCore;
    expect(tf.engine()).toBe(cjs.engine());
    expect(tfCore.engine()).toBe(cjs.engine());
    // A tensor made by one is usable by the other.
    const t = cjs.tensor([1, 2, 3]);
    expect(Array.from(tf.add(t, 1).dataSync())).toEqual([2, 3, 4]);
  });

  it('loads wasm and cpu on request and registers the training gradients', async () => {
    for (const b of ['wasm', 'cpu'] as const) {
      const r = await loadTf({ backend: b });
      expect(r.backend).toBe(b);
      expect(r.tf.getBackend()).toBe(b);
      expect(r.available).toContain('wasm');
      expect(r.tf.getGradient('Conv2D')).toBeDefined();
      expect(r.tf.getGradient('DepthToSpace')).toBeDefined();
    }
  });

  it('auto picks an available backend, never cpu while wasm works', async () => {
    const r = await loadTf({ backend: 'auto' });
    expect(r.available).toContain(r.backend);
    expect(r.backend).not.toBe('cpu');
  });

  it('an unavailable backend is a one-line UserError', async (ctx) => {
    const facts = await tfFacts();
    const missing = facts.backends.find((b) => !b.available);
    if (!missing) return ctx.skip('every tfjs backend loads on this machine: none to refuse');
    const e = await loadTf({ backend: missing.name as 'tensorflow' }).catch((x: unknown) => x);
    expect(isUserError(e)).toBe(true);
    expect(String((e as Error).message)).toMatch(new RegExp(`'${missing.name}' is not available`));
  });

  it('tfFacts lists every backend, the chosen one and the GPU if any', async () => {
    const f = await tfFacts();
    expect(f.backends.map((b) => b.name).sort()).toEqual(['cpu', 'tensorflow', 'wasm', 'webgpu']);
    expect(f.chosen).toBeDefined();
    console.log(JSON.stringify(f));
  });
});

describe('GPU adapter classification', () => {
  const swiftshader = {
    vendor: 'google',
    architecture: 'swiftshader',
    device: 'swiftshader-device-subzero-',
    description: 'SwiftShader driver 5.0.0',
    isFallbackAdapter: true,
  };
  it('names the adapter, the native API and marks software renderers', () => {
    const s = describeAdapter(swiftshader, { platform: 'linux' });
    expect(s).toMatchObject({ vendor: 'google', architecture: 'swiftshader', api: 'Vulkan', software: true });
    expect(s.renderer).toBe('SwiftShader');
    expect(s.summary).toBe('google swiftshader (SwiftShader driver 5.0.0), Vulkan, software: SwiftShader');
    const lvp = describeAdapter(
      { vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
      { platform: 'linux' },
    );
    expect(lvp.software).toBe(true);
    expect(lvp.renderer).toMatch(/lavapipe/);
    const warp = describeAdapter(
      { vendor: 'microsoft', architecture: '', description: 'Microsoft Basic Render Driver' },
      { platform: 'win32' },
    );
    expect(warp).toMatchObject({ api: 'D3D12', software: true, renderer: 'Microsoft Basic Render Driver (WARP)' });
    // An unknown adapter that says it is the fallback one is treated as software too.
    expect(describeAdapter({ vendor: 'acme', architecture: 'x' }, { isFallbackAdapter: true }).renderer).toBe(
      'fallback adapter',
    );
  });
  it('hardware adapters of every vendor are not software', () => {
    const cases: Array<[object, NodeJS.Platform, string]> = [
      [{ vendor: 'nvidia', architecture: 'ampere', description: 'NVIDIA GeForce RTX 3090' }, 'linux', 'Vulkan'],
      [
        { vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' },
        'linux',
        'Vulkan',
      ],
      [{ vendor: 'intel', architecture: 'xe-lpg', description: 'Intel(R) Arc(TM) Graphics' }, 'win32', 'D3D12'],
      [{ vendor: 'apple', architecture: 'metal-3', description: '' }, 'darwin', 'Metal'],
    ];
    for (const [info, platform, api] of cases) {
      const f = describeAdapter(info, { platform });
      expect(f.software, f.summary).toBe(false);
      expect(f.api).toBe(api);
      expect(f.renderer).toBeUndefined();
    }
  });
});

describe('auto backend choice', () => {
  const p = (name: BackendProbe['name'], extra: Partial<BackendProbe> = {}): BackendProbe => ({
    name,
    available: true,
    ...extra,
  });
  const cpuSide = [p('wasm'), p('cpu')];
  it('never prefers a software adapter over wasm, but uses it before the pure-JS cpu backend', () => {
    expect(autoChoice([p('tensorflow', { available: false }), p('webgpu', { software: true }), ...cpuSide])).toBe(
      'wasm',
    );
    expect(autoChoice([p('webgpu', { software: true }), p('wasm', { available: false }), p('cpu')])).toBe('webgpu');
  });
  it('a hardware adapter beats the CPU backends; CUDA beats it; TensorFlow on the CPU beats wasm', () => {
    expect(autoChoice([p('webgpu', { software: false }), ...cpuSide])).toBe('webgpu');
    expect(autoChoice([p('tensorflow', { gpu: 'CUDA' }), p('webgpu'), ...cpuSide])).toBe('tensorflow');
    const tfCpu = p('tensorflow', { provider: '@tensorflow/tfjs-node' });
    expect(autoChoice([tfCpu, p('webgpu', { software: false }), ...cpuSide])).toBe('webgpu');
    expect(autoChoice([tfCpu, p('webgpu', { software: true }), ...cpuSide])).toBe('tensorflow');
    // Training chooses the same way (its reads are asynchronous): a hardware adapter, never a software one.
    expect(autoChoice([p('webgpu', { software: false }), ...cpuSide], 'train')).toBe('webgpu');
    expect(autoChoice([p('webgpu', { software: true }), ...cpuSide], 'train')).toBe('wasm');
    expect(autoChoice([tfCpu, p('webgpu', { software: true }), ...cpuSide], 'train')).toBe('tensorflow');
  });
});

describe('what to install', () => {
  it('without any Vulkan driver: a GPU driver, mesa-vulkan-drivers or SwiftShader with VK_ICD_FILENAMES', () => {
    const h = noAdapterHint('linux', { installed: [] });
    expect(h).toMatch(/^no Vulkan driver installed: install your GPU's Vulkan driver/);
    expect(h).toMatch(/mesa-vulkan-drivers/);
    expect(h).toMatch(/SwiftShader.*VK_ICD_FILENAMES/);
  });
  it('names the drivers that are there but give no adapter, and the SwiftShader it found', () => {
    const h = noAdapterHint(
      'linux',
      { installed: ['lvp_icd.x86_64.json'] },
      '/usr/lib/chromium/vk_swiftshader_icd.json',
    );
    expect(h).toMatch(/installed: lvp_icd\.x86_64\.json; Mesa before 23 is too old/);
    expect(h).toMatch(/set VK_ICD_FILENAMES=\/usr\/lib\/chromium\/vk_swiftshader_icd\.json/);
    expect(noAdapterHint('linux', { installed: [], selected: '/x/icd.json' })).toMatch(
      /\(\/x\/icd\.json\) gives no adapter/,
    );
    expect(noAdapterHint('darwin', { installed: [] })).toMatch(/Metal/);
    expect(noAdapterHint('win32', { installed: [] })).toMatch(/D3D12.*GPU driver/);
  });
  it('the tensorflow backend: both providers named when neither is installed, the load error when broken', () => {
    const missing = (spec: TensorflowProvider) => ({ spec, message: `Cannot find package '${spec}' imported from x` });
    expect(tensorflowMissing(TENSORFLOW_PROVIDERS.map(missing))).toMatch(
      /^not installed \(optional: @tensorflow\/tfjs-node-gpu for NVIDIA CUDA.*@tensorflow\/tfjs-node for TensorFlow on all CPU cores\)$/,
    );
    expect(
      tensorflowMissing([
        { spec: '@tensorflow/tfjs-node-gpu', message: 'libcudart.so.11.0: cannot open shared object file' },
        missing('@tensorflow/tfjs-node'),
      ]),
    ).toBe(
      '@tensorflow/tfjs-node-gpu failed to load (CUDA/cuDNN missing?): libcudart.so.11.0: cannot open shared object file',
    );
    // Installed without its native binding (install script skipped): not "not installed".
    const binding = "Cannot find module '/app/node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node'";
    expect(
      tensorflowMissing([missing('@tensorflow/tfjs-node-gpu'), { spec: '@tensorflow/tfjs-node', message: binding }]),
    ).toBe(
      `@tensorflow/tfjs-node failed to load (its install script did not run or could not download libtensorflow: set "@tensorflow/tfjs-node": true in package.json's allowScripts, then npm rebuild @tensorflow/tfjs-node): ${binding}`,
    );
  });
  it.skipIf(tensorflowInstalled)('the probe here: neither tensorflow provider is installed', async () => {
    const t = await probeBackend('tensorflow');
    expect(t.available).toBe(false);
    expect(t.detail).toMatch(/^not installed \(optional: @tensorflow\/tfjs-node-gpu .*@tensorflow\/tfjs-node /);
  });
});
