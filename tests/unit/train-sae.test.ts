/**
 * The `sae` trainer (DFL-SAE family, engine/train/models/sae.ts) at tiny widths: its options (presets, layouts,
 * bad resolution), df and liae shapes at 64/128/256 px, a training step that reaches every weight and leaves no
 * tensor behind, the swap direction's path (df: the decoder; liae: the inter), and a save that loads back as the
 * same network from the model's own saved options.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { parseOptions } from '../../src-shared/options';
import { trainStage } from '../../src-shared/stages/train';
import { scratchDir, td } from '../helpers/testdata';
import { loadTf, type Tf } from '../../src-main/engine/tf/backend';
import { Adam } from '../../src-main/engine/train/adam';
import type { Batch } from '../../src-main/engine/train/augment';
import { readModelFiles, saveModel } from '../../src-main/engine/train/model-io';
import {
  buildAutoencoder,
  saeFlopsPerFace,
  trainerConfig,
  trainers,
  type FaceModel,
  type SaeSpec,
} from '../../src-main/engine/train/models/index';
import { loadFaceModel } from '../../src-main/engine/train/predict';
import { Rng } from '../../src-main/engine/train/rng';
import { trainLoop, trainStep } from '../../src-main/engine/train/trainer';

let tf: Tf;
let dir: string;

const ADAM = { learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };
const tinyDims = { saeAeDims: 16, saeEDims: 4, saeDDims: 4, saeDMaskDims: 2 };
const sae = (layout: 'df' | 'liae', resolution: number) =>
  trainerConfig('sae', { saeLayout: layout, saeResolution: resolution, ...tinyDims });

function noise(n: number, size: number, seed: number, channels = 3): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * size * size * channels }, () => rng.next());
}

function batch(n: number, size: number, seed: number): Batch {
  return { n, size, input: noise(n, size, seed), target: noise(n, size, seed + 1), mask: noise(n, size, seed + 2, 1) };
}

function run(m: FaceModel, x: Float32Array, side: 'a' | 'b'): Float32Array {
  const S = m.config.size;
  return tf.tidy(
    () => m.forward(tf.tensor4d(x, [x.length / (S * S * 3), S, S, 3]), side).face.dataSync() as Float32Array,
  );
}

beforeAll(async () => {
  tf = (await loadTf({ backend: 'wasm' })).tf;
  dir = await scratchDir('train-sae');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('sae options', () => {
  it('defaults to DeepFaceLab SAEHD widths (gpu preset) and has a CPU preset a tenth the size', () => {
    const gpu = trainers.sae;
    expect(gpu.sae).toEqual({ layout: 'df', resolution: 128, aeDims: 256, eDims: 64, dDims: 64, dMaskDims: 22 });
    const cpu = trainerConfig('sae', { saePreset: 'cpu' });
    expect(cpu.size).toBe(128);
    const fg = saeFlopsPerFace(gpu.sae as SaeSpec);
    const fc = saeFlopsPerFace(cpu.sae as SaeSpec);
    expect(fg).toBeGreaterThan(40e9);
    expect(fc).toBeLessThan(fg / 10);
  });

  it('takes its options from the train stage schema (--sae-* flags), and a preset only fills unset widths', () => {
    const o = parseOptions(trainStage.options, {
      inputA: 'a',
      inputB: 'b',
      modelDir: 'm',
      trainer: 'sae',
      saePreset: 'cpu',
      saeLayout: 'liae',
      saeDDims: 24,
    });
    const c = trainerConfig(o.trainer, o);
    expect(c.sae).toEqual({ layout: 'liae', resolution: 128, aeDims: 128, eDims: 12, dDims: 24, dMaskDims: 6 });
    expect(() => parseOptions(trainStage.options, { inputA: 'a', inputB: 'b', modelDir: 'm', saeLayout: 'x' })).toThrow(
      /--sae-layout/,
    );
  });

  it('refuses a resolution that is not a multiple of 16 with one line', () => {
    let err: unknown;
    try {
      trainerConfig('sae', { saeResolution: 100 });
    } catch (e) {
      err = e;
    }
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toMatch(/--sae-resolution 100: must be a multiple of 16/);
    // A saved state with an impossible value (edited by hand) names the flag too.
    expect(() => trainerConfig('sae', { saeAeDims: 3 })).toThrow(/^--sae-ae-dims: /);
  });
});

describe('sae network', () => {
  for (const layout of ['df', 'liae'] as const)
    for (const res of [64, 128, 256])
      it(`${layout} at ${res} px: face and mask of the input's size on both sides`, () => {
        const m = buildAutoencoder(tf, sae(layout, res), 1);
        const names = [...m.params.vars.keys()];
        if (layout === 'df') {
          expect(names.some((k) => k.startsWith('decoder_a/')) && names.some((k) => k.startsWith('decoder_b/'))).toBe(
            true,
          );
          expect(names.some((k) => k.startsWith('inter_'))).toBe(false);
        } else {
          expect(names.some((k) => k.startsWith('inter_ab/')) && names.some((k) => k.startsWith('inter_a/'))).toBe(
            true,
          );
          expect(names.some((k) => k.startsWith('decoder_'))).toBe(false);
        }
        for (const side of ['a', 'b'] as const) {
          const shapes = tf.tidy(() => {
            const o = m.forward(tf.zeros([2, res, res, 3]) as never, side);
            return [o.face.shape, o.mask?.shape];
          });
          expect(shapes).toEqual([
            [2, res, res, 3],
            [2, res, res, 1],
          ]);
        }
        m.dispose();
      });

  for (const layout of ['df', 'liae'] as const)
    it(`${layout}: a training step moves every weight, the loss falls, and no tensor is left behind`, () => {
      const start = tf.memory().numTensors;
      const m = buildAutoencoder(tf, sae(layout, 64), 3);
      const adam = new Adam(tf, m.params.vars, ADAM, 'device');
      const before = new Map([...m.params.vars].map(([k, v]) => [k, v.dataSync().slice()]));
      const a = batch(2, 64, 10);
      const b = batch(2, 64, 20);
      const losses: number[] = [];
      for (let i = 0; i < 8; i++) {
        const [la, lb] = trainStep(tf, m, adam, a, b, 'mae');
        losses.push(la + lb);
      }
      for (const [k, v] of m.params.vars) {
        const was = before.get(k) as Float32Array;
        expect(
          v.dataSync().some((x, i) => x !== was[i]),
          k,
        ).toBe(true);
      }
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1)).toBeLessThan(losses[0] as number);
      adam.dispose();
      m.dispose();
      expect(tf.memory().numTensors).toBe(start);
    }, 60_000);

  it('df: the swap to B reads decoder_b only', () => {
    const m = buildAutoencoder(tf, sae('df', 64), 4);
    const x = noise(1, 64, 7);
    const [a0, b0] = [run(m, x, 'a'), run(m, x, 'b')];
    const k = m.params.get('decoder_a/upscale1/kernel');
    k.assign(tf.tidy(() => tf.mul(k, 1.5)));
    expect(run(m, x, 'b')).toEqual(b0);
    expect(run(m, x, 'a')).not.toEqual(a0);
    m.dispose();
  });

  it("liae: the swap to B reads the shared inter only (A's reconstruction also reads inter_a)", () => {
    const m = buildAutoencoder(tf, sae('liae', 64), 5);
    const x = noise(1, 64, 8);
    const [a0, b0] = [run(m, x, 'a'), run(m, x, 'b')];
    const onlyA = m.params.get('inter_a/dense2/kernel');
    onlyA.assign(tf.tidy(() => tf.mul(onlyA, 1.5)));
    expect(run(m, x, 'b')).toEqual(b0);
    const a1 = run(m, x, 'a');
    expect(a1).not.toEqual(a0);
    const shared = m.params.get('inter_ab/dense2/kernel');
    shared.assign(tf.tidy(() => tf.mul(shared, 1.5)));
    expect(run(m, x, 'b')).not.toEqual(b0);
    expect(run(m, x, 'a')).not.toEqual(a1);
    m.dispose();
  });

  it('saves by name and loads back as the same network from its saved options', async () => {
    const options = { trainer: 'sae', saeLayout: 'liae', saeResolution: 80, ...tinyDims, saeAeDims: 24 };
    const cfg = trainerConfig('sae', options);
    const m = buildAutoencoder(tf, cfg, 6);
    const adam = new Adam(tf, m.params.vars, ADAM, 'device');
    trainStep(tf, m, adam, batch(1, 80, 30), batch(1, 80, 40), 'mae');
    const mdir = join(dir, 'model');
    await saveModel(mdir, m, adam, {
      trainer: 'sae',
      inputSize: 80,
      outputSize: 80,
      hasMask: true,
      coverage: 0.75,
      seed: 99, // a different seed: the loaded weights must come from the file
      iteration: 1,
      lossA: [0.5],
      lossB: [0.4],
      optimizer: { name: 'adam' as const, ...ADAM },
      options,
      trainSeconds: 0,
    });
    const loaded = await loadFaceModel(mdir, { backend: 'wasm' });
    expect([loaded.trainer, loaded.size, loaded.hasMask]).toEqual(['sae', 80, true]);
    expect(loaded.model.config.sae).toEqual(cfg.sae);
    const x = noise(1, 80, 9);
    const want = run(m, x, 'b');
    expect(loaded.predict(x, 1, 'a-to-b').face).toEqual(want);
    expect(loaded.predict(x, 1, 'a-to-b').mask?.length).toBe(80 * 80);
    loaded.dispose();
    adam.dispose();
    m.dispose();
  }, 60_000);
});

describe('sae train loop', () => {
  beforeAll(async () => {
    // Square crops of a real photo as the two people's faces (the loop only needs face images here).
    for (const [side, offsets] of [
      ['A', [0, 20, 40]],
      ['B', [60, 80, 100]],
    ] as const) {
      await mkdir(join(dir, side), { recursive: true });
      for (const o of offsets)
        await sharp(td('faces', 'single_tom-cruise_dlib.jpg'))
          .extract({ left: 60 + o, top: 120 + o, width: 400, height: 400 })
          .resize(96, 96)
          .png()
          .toFile(join(dir, side, `clip_${String(o).padStart(6, '0')}_0.png`));
    }
  });

  it('resumes with the network of its saved options whatever the flags say; another trainer is refused', async () => {
    const modelDir = join(dir, 'loop');
    const opts = (iterations: number, extra: Record<string, unknown>) =>
      parseOptions(trainStage.options, {
        inputA: join(dir, 'A'),
        inputB: join(dir, 'B'),
        modelDir,
        trainer: 'sae',
        batchSize: 2,
        iterations,
        saveEvery: 2,
        previewEvery: 0,
        backend: 'wasm',
        threads: 1,
        seed: 3,
        ...extra,
      });
    const hooks = { progress: () => {}, log: () => {}, shouldStop: () => false };
    const made = { saeLayout: 'liae', saeResolution: 64, ...tinyDims };
    expect((await trainLoop(opts(2, made), hooks)).iteration).toBe(2);
    // Resumed without the flags (the preset's widths would be another network): the saved ones are used.
    const r = await trainLoop(opts(4, {}), hooks);
    expect([r.resumed, r.iteration]).toEqual([true, 4]);
    // ... and again: the model's own widths are what its state keeps, not the last session's flags.
    expect((await trainLoop(opts(6, {}), hooks)).iteration).toBe(6);
    const saved = await readModelFiles(modelDir);
    expect(saved.state.options).toMatchObject({ saeLayout: 'liae', saeResolution: 64, saeAeDims: 16 });
    expect(saved.state.inputSize).toBe(64);
    expect(saved.state.tensors.some((t) => t.name.startsWith('inter_a/'))).toBe(true);
    await expect(trainLoop(opts(8, { trainer: 'masked128' }), hooks)).rejects.toThrow(/the model is 'sae'/);
  }, 120_000);

  it('trains on 2 gradient workers like on one (the config travels to the workers)', async () => {
    const run = (threads: number) =>
      trainLoop(
        parseOptions(trainStage.options, {
          inputA: join(dir, 'A'),
          inputB: join(dir, 'B'),
          modelDir: join(dir, `threads${threads}`),
          trainer: 'sae',
          saeLayout: 'liae',
          saeResolution: 64,
          ...tinyDims,
          batchSize: 4,
          iterations: 3,
          previewEvery: 0,
          backend: 'wasm',
          threads,
          seed: 3,
        }),
        { progress: () => {}, log: () => {}, shouldStop: () => false },
      );
    const one = await run(1);
    const two = await run(2);
    expect(two.threads).toBe(2);
    expect(Math.abs(two.lossA - one.lossA)).toBeLessThan(1e-4);
    expect(Math.abs(two.lossB - one.lossB)).toBeLessThan(1e-4);
  }, 120_000);
});
