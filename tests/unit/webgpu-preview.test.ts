/**
 * The convert preview of one frame with the model on webgpu (SwiftShader's software Vulkan here) equals the same
 * preview on wasm within 1 level (8-bit RGB): a real photo (testdata faces/), its alignments from extract, and a
 * `lightweight` model trained for 2 seeded iterations on that face.
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBackend } from '@tensorflow/tfjs-core';
import { parseOptions } from '../../src-shared/options';
import { extractStage } from '../../src-shared/stages/extract';
import { trainStage } from '../../src-shared/stages/train';
import { createPreviewer } from '../../src-main/engine/convert/preview';
import { runExtract } from '../../src-main/engine/extract/run';
import { quietContext } from '../../src-main/engine/stage';
import { runTrain } from '../../src-main/engine/train/run';
import { hasTestdata, scratchDir, td } from '../helpers/testdata';
import { useSoftwareVulkan } from '../helpers/vulkan';

const vulkan = useSoftwareVulkan();
let dir = '';
let photos = '';
let model = '';

beforeAll(async () => {
  if (vulkan.skip || !hasTestdata) return;
  dir = await scratchDir('webgpu-preview');
  photos = join(dir, 'photos');
  await mkdir(photos);
  await cp(td('faces', 'single_tom-cruise_dlib.jpg'), join(photos, 'tom.jpg'));
  const faces = join(dir, 'faces');
  await runExtract(parseOptions(extractStage.options, { input: photos, output: faces }), quietContext());
  model = join(dir, 'model');
  const o = { inputA: faces, inputB: faces, modelDir: model, trainer: 'lightweight', batchSize: 2, iterations: 2 };
  await runTrain(parseOptions(trainStage.options, { ...o, previewEvery: 0, seed: 3, backend: 'wasm' }), quietContext());
}, 600_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function previewOn(backend: 'wasm' | 'webgpu'): Promise<{ data: Buffer; faces: number; ran: string }> {
  const p = await createPreviewer({ input: photos, model, backend });
  try {
    const r = await p.preview(0);
    // The backend the model ran on (nothing in between, no face detection: the faces come from the alignments).
    return { data: r.data, faces: r.faces, ran: getBackend() };
  } finally {
    p.dispose();
  }
}

describe.skipIf(vulkan.skip !== undefined || !hasTestdata)('convert preview on webgpu', () => {
  it('equals the wasm preview within 1 level', { timeout: 300_000 }, async () => {
    const ref = await previewOn('wasm');
    const got = await previewOn('webgpu');
    expect(got.ran).toBe('webgpu');
    expect(ref.faces).toBeGreaterThan(0);
    expect(got.faces).toBe(ref.faces);
    expect(got.data.length).toBe(ref.data.length);
    let worst = 0;
    let differing = 0;
    for (let i = 0; i < ref.data.length; i++) {
      const d = Math.abs((got.data[i] ?? 0) - (ref.data[i] ?? 0));
      worst = Math.max(worst, d);
      if (d > 0) differing++;
    }
    console.log(
      `preview: ${ref.faces} face(s), max difference ${worst} level(s), ${differing} of ${ref.data.length} values differ`,
    );
    expect(worst).toBeLessThanOrEqual(1);
  });
});
