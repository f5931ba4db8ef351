/**
 * Human's face models on webgpu (SwiftShader's software Vulkan here) find the same faces as on wasm: the detector
 * and mesh (boxes and the 68 landmarks within 0.5 px) and the descriptor, on a real photo; then the extract stage
 * with `--backend webgpu` writes the same alignments as with wasm, for photos and for a video (detection, then
 * tracking, in the chunk runner), and the quality report measures that video as on wasm. `auto` never picks the
 * software adapter.
 */
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type { Alignments } from '../../src-shared/formats/alignments';
import { parseOptions } from '../../src-shared/options';
import { evaluateStage } from '../../src-shared/stages/evaluate';
import { extractStage } from '../../src-shared/stages/extract';
import { DEFAULT_DETECT, FaceDetector, type MeshFace } from '../../src-main/engine/face/detector';
import { faceBackend, loadFaceModels } from '../../src-main/engine/face/human';
import { ImagePyramid } from '../../src-main/engine/face/image';
import { runEvaluate } from '../../src-main/engine/evaluate/run';
import { runExtract } from '../../src-main/engine/extract/run';
import { readImage } from '../../src-main/engine/media/images';
import { quietContext } from '../../src-main/engine/stage';
import { cutClip } from '../helpers/clips';
import { hasTestdata, scratchDir, td, videos } from '../helpers/testdata';
import { useSoftwareVulkan } from '../helpers/vulkan';

const vulkan = useSoftwareVulkan();
const PHOTO = 'single_tom-cruise_dlib.jpg';
let dir = '';

beforeAll(async () => {
  if (vulkan.skip || !hasTestdata) return;
  dir = await scratchDir('webgpu-face');
  await mkdir(join(dir, 'photos'));
  await cp(td('faces', PHOTO), join(dir, 'photos', PHOTO));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Largest distance between corresponding points. */
function worstPx(a: ReadonlyArray<readonly number[]>, b: ReadonlyArray<readonly number[]>): number {
  expect(b.length).toBe(a.length);
  return Math.max(...a.map((p, i) => Math.hypot(p[0]! - b[i]![0]!, p[1]! - b[i]![1]!)));
}

async function facesOn(backend: 'wasm' | 'webgpu') {
  const detector = new FaceDetector(await loadFaceModels(backend));
  const img = await readImage(td('faces', PHOTO));
  const before = tf.memory().numTensors;
  const pyr = new ImagePyramid({ width: img.width, height: img.height, data: img.data });
  const faces: MeshFace[] = await detector.detect(pyr, DEFAULT_DETECT);
  const descriptor = faces[0] ? await detector.descriptor(pyr, faces[0]) : undefined;
  return { faces, descriptor, ran: tf.getBackend(), leaked: tf.memory().numTensors - before };
}

describe.skipIf(vulkan.skip !== undefined || !hasTestdata)('face models on webgpu', () => {
  it('auto never picks the software adapter', async () => {
    expect(await faceBackend('auto')).not.toBe('webgpu');
    expect(await faceBackend('webgpu')).toBe('webgpu');
  });

  it('detects, meshes and describes a photo as wasm does (within 0.5 px)', { timeout: 600_000 }, async () => {
    const ref = await facesOn('wasm');
    const got = await facesOn('webgpu');
    expect(got.ran).toBe('webgpu');
    expect(ref.faces.length).toBe(1);
    expect(got.faces.length).toBe(ref.faces.length);
    const [a, b] = [ref.faces[0]!, got.faces[0]!];
    const corners = (f: MeshFace) => [
      [f.box[0], f.box[1]],
      [f.box[0] + f.box[2], f.box[1] + f.box[3]],
    ];
    expect(worstPx(corners(a), corners(b))).toBeLessThan(0.5);
    expect(worstPx(a.landmarks68, b.landmarks68)).toBeLessThan(0.5);
    expect(Math.abs(a.meshScore - b.meshScore)).toBeLessThan(1e-3);
    const d = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    const cos =
      d(ref.descriptor!, got.descriptor!) /
      Math.sqrt(d(ref.descriptor!, ref.descriptor!) * d(got.descriptor!, got.descriptor!));
    expect(cos).toBeGreaterThan(0.9999);
    expect(ref.leaked).toBe(0);
    expect(got.leaked).toBe(0);
  });

  it('extract --backend webgpu writes the alignments wasm writes (within 0.5 px)', { timeout: 600_000 }, async () => {
    const run = async (backend: 'wasm' | 'webgpu') => {
      const alignments = join(dir, `${backend}.json`);
      const o = { input: join(dir, 'photos'), output: join(dir, `faces-${backend}`), alignments, backend };
      await runExtract(parseOptions(extractStage.options, o), quietContext());
      return JSON.parse(await readFile(alignments, 'utf8')) as Alignments;
    };
    const ref = await run('wasm');
    const got = await run('webgpu');
    expect(got.generator.detector).toMatch(/\(webgpu\)$/);
    expect(ref.generator.detector).toMatch(/\(wasm\)$/);
    const fa = ref.frames[PHOTO]!.faces;
    const fb = got.frames[PHOTO]!.faces;
    expect(fa.length).toBe(1);
    expect(fb.length).toBe(fa.length);
    expect(worstPx(fa[0]!.landmarks68, fb[0]!.landmarks68)).toBeLessThan(0.5);
  });

  it('extract --backend webgpu tracks a video as wasm does (within 0.5 px)', { timeout: 600_000 }, async () => {
    const clip = join(dir, 'clip.mp4');
    await cutClip(videos.personA, clip, 3);
    const run = async (backend: 'wasm' | 'webgpu') => {
      const alignments = join(dir, `video-${backend}.json`);
      const o = { input: clip, output: join(dir, `video-${backend}`), alignments, backend };
      await runExtract(parseOptions(extractStage.options, o), quietContext(), { workers: 1 });
      return JSON.parse(await readFile(alignments, 'utf8')) as Alignments;
    };
    const ref = await run('wasm');
    const got = await run('webgpu');
    expect(got.generator.detector).toMatch(/\(webgpu\)$/);
    const keys = Object.keys(ref.frames);
    expect(keys.length).toBe(3);
    expect(Object.keys(got.frames)).toEqual(keys);
    for (const k of keys) {
      const fa = ref.frames[k]!.faces;
      const fb = got.frames[k]!.faces;
      expect(fa.length).toBe(1);
      expect(fb.length).toBe(1);
      expect(worstPx(fa[0]!.landmarks68, fb[0]!.landmarks68)).toBeLessThan(0.5);
    }
  });

  it('the quality report on webgpu measures what it measures on wasm', { timeout: 600_000 }, async () => {
    // The clip and its faces from the test above (it runs first: vitest keeps the order of a file).
    const clip = join(dir, 'clip.mp4');
    const run = (backend: 'wasm' | 'webgpu') =>
      runEvaluate(
        parseOptions(evaluateStage.options, {
          original: clip,
          swapped: clip,
          sourceFaces: [join(dir, 'video-wasm')],
          targetFaces: [join(dir, 'video-wasm')],
          identityEvery: 1,
          report: join(dir, `q-${backend}.json`),
          backend,
        }),
        quietContext(),
        { workers: 1 },
      );
    const ref = await run('wasm');
    const got = await run('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(ref.frames.withFaceBoth).toBe(3);
    expect(got.frames).toEqual(ref.frames);
    expect(Math.abs(got.identity.similarityToTarget.mean - ref.identity.similarityToTarget.mean)).toBeLessThan(1e-3);
    expect(Math.abs(got.detection.originalScore.mean - ref.detection.originalScore.mean)).toBeLessThan(1e-3);
  });
});
