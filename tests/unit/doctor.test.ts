import { describe, expect, it } from 'vitest';
import { doctorLines, gpuLine } from '../../src-shared/doctor';
import { runDoctor } from '../../src-main/engine/doctor';

describe('doctor', () => {
  it('reports Node, Electron, ffmpeg, tfjs and human facts', async () => {
    const r = await runDoctor();
    expect(r.node.version).toBe(process.versions.node);
    expect(r.node.ok).toBe(true);
    expect(typeof r.electron.found).toBe('boolean');
    // ffmpeg ships inside @ffmpeg-installer/ffmpeg, so it is always found here.
    expect(r.ffmpeg.found).toBe(true);
    expect(r.ffmpeg.source).toBeTruthy();
    expect(r.ffmpeg.version).toMatch(/\S/);
    expect(r.ffprobe.found).toBe(true);
    expect(r.human.found).toBe(true);
    expect(r.human.missing).toEqual([]);
    // wasm and cpu install everywhere; one of the backends is chosen.
    expect(r.tfjs.backends.filter((b) => b.available).map((b) => b.name)).toEqual(
      expect.arrayContaining(['wasm', 'cpu']),
    );
    expect(r.tfjs.chosen).toBeTruthy();
    const lines = doctorLines(r);
    expect(lines.map((l) => l[0])).toEqual(
      expect.arrayContaining([
        'Node.js',
        'Electron binary',
        'ffmpeg',
        'tfjs backends',
        'tfjs backend chosen',
        'Human models',
      ]),
    );
  }, 120_000);
});

describe('doctor GPU line', () => {
  const base = { backends: [{ name: 'wasm', available: true }], chosen: 'wasm' };
  const adapter = (software: boolean) => ({
    vendor: software ? 'google' : 'nvidia',
    architecture: software ? 'swiftshader' : 'ampere',
    description: software ? 'SwiftShader driver 5.0.0' : 'NVIDIA GeForce RTX 3090',
    api: 'Vulkan' as const,
    software,
    ...(software ? { renderer: 'SwiftShader' } : {}),
    summary: software
      ? 'google swiftshader (SwiftShader driver 5.0.0), Vulkan, software: SwiftShader'
      : 'nvidia ampere (NVIDIA GeForce RTX 3090), Vulkan',
  });
  it('names a hardware adapter', () => {
    expect(gpuLine({ ...base, adapter: adapter(false) })).toEqual([
      'GPU',
      'nvidia ampere (NVIDIA GeForce RTX 3090), Vulkan',
      true,
    ]);
  });
  it('marks a software adapter and says auto does not use it', () => {
    const [, text] = gpuLine({ ...base, adapter: adapter(true) });
    expect(text).toMatch(
      /^none in hardware: the WebGPU adapter is a software renderer \(SwiftShader: google swiftshader/,
    );
    expect(text).toMatch(/auto uses the CPU, --backend webgpu still runs on it/);
  });
  it('says what to install when there is no adapter, and counts CUDA as a GPU', () => {
    const hint = "no WebGPU adapter: no Vulkan driver installed: install your GPU's Vulkan driver (...)";
    expect(gpuLine({ ...base, gpuHint: hint })).toEqual(['GPU', `none: ${hint}`, false]);
    const cuda = { name: 'tensorflow', available: true, detail: '@tensorflow/tfjs-node-gpu, CUDA' };
    expect(gpuLine({ ...base, backends: [cuda, ...base.backends] })[1]).toBe('CUDA (tensorflow)');
  });
  it('the report here has the GPU line, with the adapter or what to install', async () => {
    const r = await runDoctor();
    const line = doctorLines(r).find((l) => l[0] === 'GPU');
    console.log(line?.[1]);
    expect(line?.[1]).toMatch(r.tfjs.adapter ? /WebGPU adapter|Vulkan|Metal|D3D12/ : /^none: .*(driver|adapter)/);
  }, 120_000);
});
