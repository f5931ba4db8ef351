/**
 * What a WebGPU adapter is (vendor, architecture, the native API Dawn drives, hardware or software renderer) and,
 * when there is none, what to install. Pure functions over the adapter's info (tests/unit/tf-backend.test.ts),
 * plus the usual install places of Vulkan drivers on Linux, read only as hints.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The native API Dawn uses by default on each OS. */
export type GpuApi = 'Vulkan' | 'Metal' | 'D3D12';

export interface AdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** WebGPU's flag for a fallback (typically software) adapter; Dawn reports it in `info`, older specs on the adapter. */
  isFallbackAdapter?: boolean;
}

export interface AdapterFacts {
  vendor: string;
  architecture: string;
  description: string;
  api: GpuApi;
  /** A CPU-emulated GPU: correct, but slower than wasm, so `auto` never picks it over wasm. */
  software: boolean;
  /** Which software renderer (SwiftShader, llvmpipe/lavapipe, WARP, a fallback adapter). */
  renderer?: string;
  /** One line: `google swiftshader (SwiftShader driver 5.0.0), Vulkan, software: SwiftShader`. */
  summary: string;
}

export function gpuApiFor(platform: NodeJS.Platform): GpuApi {
  return platform === 'darwin' ? 'Metal' : platform === 'win32' ? 'D3D12' : 'Vulkan';
}

/** Known software renderers by the words their drivers put in the adapter info. */
const SOFTWARE: Array<[RegExp, string]> = [
  [/swiftshader/i, 'SwiftShader'],
  [/llvmpipe|lavapipe/i, 'llvmpipe (Mesa lavapipe)'],
  [/microsoft basic render|\bwarp\b/i, 'Microsoft Basic Render Driver (WARP)'],
  [/software ?(renderer|rasterizer)|softpipe/i, 'software renderer'],
];

export function describeAdapter(
  info: AdapterInfoLike,
  opts: { platform?: NodeJS.Platform; isFallbackAdapter?: boolean } = {},
): AdapterFacts {
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const description = info.description ?? '';
  const text = [vendor, architecture, info.device ?? '', description].join(' ');
  const known = SOFTWARE.find(([re]) => re.test(text))?.[1];
  const fallback = info.isFallbackAdapter === true || opts.isFallbackAdapter === true;
  const renderer = known ?? (fallback ? 'fallback adapter' : undefined);
  const api = gpuApiFor(opts.platform ?? process.platform);
  const name = [vendor, architecture].filter((s) => s.length > 0).join(' ') || info.device || 'unknown adapter';
  const summary = `${name}${description ? ` (${description})` : ''}, ${api}${renderer ? `, software: ${renderer}` : ''}`;
  return {
    vendor,
    architecture,
    description,
    api,
    software: renderer !== undefined,
    ...(renderer ? { renderer } : {}),
    summary,
  };
}

/** Where Linux distributions and browsers put Vulkan driver manifests (hints only; absent elsewhere). */
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
const SWIFTSHADER_ICDS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json', // Debian, Ubuntu (chromium-common)
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json', // Fedora
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/snap/chromium/current/usr/lib/chromium-browser/vk_swiftshader_icd.json',
  '/opt/google/chrome/vk_swiftshader_icd.json',
];

/** SwiftShader's Vulkan driver manifest if one is installed (chromium, chrome, Electron's own copy). */
export function findSwiftShaderIcd(): string | undefined {
  const candidates = [...SWIFTSHADER_ICDS];
  try {
    // Electron ships SwiftShader beside its binary (all platforms).
    const electron = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
    candidates.push(join(electron, 'dist', 'vk_swiftshader_icd.json'));
  } catch {
    // electron is a dev dependency: absent in a packaged app.
  }
  return candidates.find((p) => existsSync(p));
}

/** Installed Vulkan driver manifests (file names), and the ones VK_ICD_FILENAMES / VK_DRIVER_FILES select. */
export function vulkanDrivers(env: NodeJS.ProcessEnv = process.env): { installed: string[]; selected?: string } {
  const installed = ICD_DIRS.flatMap((d) => {
    try {
      return readdirSync(d).filter((f) => f.endsWith('.json'));
    } catch {
      return [];
    }
  });
  const selected = env.VK_DRIVER_FILES ?? env.VK_ICD_FILENAMES;
  return { installed, ...(selected ? { selected } : {}) };
}

/**
 * What to install when no WebGPU adapter starts: one line for doctor and `--backend webgpu`'s error.
 * `drivers` and `swiftshader` are the facts found on this machine (Linux only).
 */
export function noAdapterHint(
  platform: NodeJS.Platform,
  drivers: { installed: string[]; selected?: string },
  swiftshader?: string,
): string {
  if (platform === 'darwin') return 'no Metal adapter: WebGPU needs macOS 11 or newer on a Metal GPU';
  if (platform === 'win32') return 'no D3D12 adapter: install or update the GPU driver (Windows 10 or newer)';
  const software = swiftshader
    ? `chromium's SwiftShader is installed: set VK_ICD_FILENAMES=${swiftshader}`
    : `chromium's SwiftShader (its vk_swiftshader_icd.json, selected with VK_ICD_FILENAMES)`;
  const head = drivers.selected
    ? `the Vulkan driver selected by VK_ICD_FILENAMES/VK_DRIVER_FILES (${drivers.selected}) gives no adapter`
    : drivers.installed.length > 0
      ? `no Vulkan driver here gives a WebGPU adapter (installed: ${drivers.installed.join(', ')}; Mesa before 23 is too old for Dawn)`
      : 'no Vulkan driver installed';
  return `${head}: install your GPU's Vulkan driver (NVIDIA's driver, or Mesa's mesa-vulkan-drivers for AMD/Intel); for a software one (slow, for tests) mesa-vulkan-drivers 23+ (lavapipe) or ${software}`;
}
