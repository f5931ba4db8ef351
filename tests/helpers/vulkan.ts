/**
 * Software Vulkan for the WebGPU tests: Google's SwiftShader driver, which Debian's chromium-common ships (CI
 * installs chromium). `useSoftwareVulkan()` points VK_ICD_FILENAMES at it for this test process: the Vulkan loader
 * reads it when Dawn starts, so call it before the first webgpu probe (at the top of the test file).
 * Under CI=true a missing driver fails the file; elsewhere the tests skip with the reason.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findSwiftShaderIcd } from '../../src-main/engine/tf/gpu-adapter';

export interface SoftwareVulkan {
  /** The SwiftShader ICD manifest now in VK_ICD_FILENAMES. */
  icd?: string;
  /** Why the WebGPU tests skip (no SwiftShader here). */
  skip?: string;
}

/** SwiftShader's manifest: already selected, in a known install place, or listed by dpkg (Debian, Ubuntu). */
export function swiftShaderIcd(): string | undefined {
  const selected = process.env.VK_ICD_FILENAMES;
  if (selected && /swiftshader/i.test(selected) && existsSync(selected)) return selected;
  const known = findSwiftShaderIcd();
  if (known) return known;
  if (process.platform !== 'linux') return undefined;
  const r = spawnSync('dpkg', ['-L', 'chromium-common'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n').find((l) => l.endsWith('vk_swiftshader_icd.json')) : undefined;
}

export function useSoftwareVulkan(): SoftwareVulkan {
  const icd = swiftShaderIcd();
  if (!icd) {
    const why =
      "SwiftShader's Vulkan driver not found (install chromium, whose chromium-common ships vk_swiftshader_icd.json, or set VK_ICD_FILENAMES to it)";
    if (process.env.CI === 'true') throw new Error(`${why}; under CI=true this is a failure`);
    return { skip: why };
  }
  process.env.VK_ICD_FILENAMES = icd;
  delete process.env.VK_DRIVER_FILES; // newer loaders prefer it over VK_ICD_FILENAMES
  return { icd };
}
