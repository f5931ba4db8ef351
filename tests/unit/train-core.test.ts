/**
 * Trainer pieces: registry and shapes, augmentation, no tensor leak over 100 steps, model save/load with
 * backup fallback, exact resume, NaN stop + restore.
 */
import { availableParallelism } from 'node:os';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { parseOptions } from '../../src-shared/options';
import { trainStage } from '../../src-shared/stages/train';
import { scratchDir } from '../helpers/testdata';
import { loadTf, type Tf } from '../../src-main/engine/tf/backend';
import { Adam } from '../../src-main/engine/train/adam';
import { augmentInto, makeBatch, type CachedFace } from '../../src-main/engine/train/augment';
import { readModelFiles, saveModel } from '../../src-main/engine/train/model-io';
import {
  buildAutoencoder,
  forwardFlops,
  trainers,
  type AutoencoderConfig,
} from '../../src-main/engine/train/models/index';
import { defaultFrameWorkers } from '../../src-main/engine/convert/frame-pool';
import { Rng } from '../../src-main/engine/train/rng';
import { trainLoop, trainStep } from '../../src-main/engine/train/trainer';

let tf: Tf;
let dir: string;

const tiny: AutoencoderConfig = {
  name: 'tiny',
  summary: 'test',
  size: 16,
  encoder: [4, 8],
  dense: 16,
  latent: 4,
  latentChannels: 8,
  encoderUpscale: 8,
  decoder: [4],
  mask: true,
  suggestedBatch: 2,
};

function synthFace(size: number, seed: number): CachedFace {
  const rng = new Rng(seed);
  const rgba = new Uint8Array(size * size * 4);
  const cx = size * (0.45 + 0.1 * rng.next());
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const d = Math.hypot(x - cx, y - size / 2) / size;
      rgba[i] = 120 + 100 * Math.cos(d * 9);
      rgba[i + 1] = 90 + 60 * Math.sin(x / 5);
      rgba[i + 2] = 80 + 40 * Math.cos(y / 7);
      rgba[i + 3] = d < 0.35 ? 255 : 0;
    }
  return { rgba, size };
}

async function writeFaces(to: string, n: number, seed: number): Promise<void> {
  await mkdir(to, { recursive: true });
  for (let i = 0; i < n; i++) {
    const f = synthFace(96, seed + i);
    await sharp(f.rgba, { raw: { width: 96, height: 96, channels: 4 } })
      .png()
      .toFile(join(to, `clip_${String(i).padStart(6, '0')}_0.png`));
  }
}

beforeAll(async () => {
  tf = (await loadTf({ backend: 'wasm' })).tf;
  dir = await scratchDir('train-core');
  await writeFaces(join(dir, 'A'), 10, 100);
  await writeFaces(join(dir, 'B'), 12, 200);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('trainer registry', () => {
  it('has original, lightweight, masked128 and sae (its own test: train-sae) with the right shapes', () => {
    expect(Object.keys(trainers).sort()).toEqual(['lightweight', 'masked128', 'original', 'sae']);
    for (const name of ['lightweight', 'masked128'] as const) {
      const cfg = trainers[name];
      const m = buildAutoencoder(tf, cfg, 1);
      const out = tf.tidy(() => {
        const o = m.forward(tf.zeros([1, cfg.size, cfg.size, 3]) as never, 'b');
        return { face: o.face.shape, mask: o.mask?.shape };
      });
      expect(out.face).toEqual([1, cfg.size, cfg.size, 3]);
      if (cfg.mask) expect(out.mask).toEqual([1, cfg.size, cfg.size, 1]);
      m.dispose();
    }
  });

  it('forwardFlops counts each model from its config (the count the built model reports)', () => {
    // Pinned: the counts the train bench printed before the count moved to forwardFlops (GFLOP per face).
    expect(forwardFlops(trainers.lightweight) / 1e9).toBeCloseTo(0.143, 3);
    expect(forwardFlops(trainers.masked128) / 1e9).toBeCloseTo(3.567, 3);
    expect(forwardFlops(trainers.original) / 1e9).toBeCloseTo(3.8, 3);
    const m = buildAutoencoder(tf, trainers.masked128, 1);
    expect(m.flopsPerFace).toBe(forwardFlops(trainers.masked128));
    m.dispose();
  });

  it('convert keeps a frame worker on every core for a heavy model, a core for ffmpeg for a light one', () => {
    const heavy = defaultFrameWorkers(forwardFlops(trainers.masked128));
    const light = defaultFrameWorkers(forwardFlops(trainers.lightweight));
    expect(heavy).toBeGreaterThanOrEqual(1);
    expect(light).toBe(Math.max(1, Math.min(availableParallelism() - 1, heavy)));
  });

  it('original is the classic model', () => {
    const c = trainers.original;
    expect(c.size).toBe(64);
    expect(c.encoder).toEqual([128, 256, 512, 1024]);
    expect(c.dense).toBe(1024);
    expect([c.latent, c.latentChannels, c.encoderUpscale]).toEqual([4, 1024, 512]);
    expect(c.decoder).toEqual([256, 128, 64]);
  });
});

describe('augmentation', () => {
  const face = synthFace(86, 7);
  const o = { outSize: 64, coverage: 0.75, warp: false, flip: true, transform: true, color: false };
  it('without warp the input is the target', () => {
    const inp = new Float32Array(64 * 64 * 3);
    const tgt = new Float32Array(64 * 64 * 3);
    augmentInto(face, o, new Rng(3), inp, tgt, 0);
    expect(inp).toEqual(tgt);
  });
  it('the warp changes the input only: the target is the same transform without it', () => {
    const i1 = new Float32Array(64 * 64 * 3);
    const t1 = new Float32Array(64 * 64 * 3);
    const i2 = new Float32Array(64 * 64 * 3);
    const t2 = new Float32Array(64 * 64 * 3);
    augmentInto(face, o, new Rng(3), i1, t1, 0);
    augmentInto(face, { ...o, warp: true }, new Rng(3), i2, t2, 0);
    expect(t2).toEqual(t1);
    let diff = 0;
    for (let k = 0; k < i2.length; k++) diff += Math.abs((i2[k] ?? 0) - (t2[k] ?? 0));
    expect(diff / i2.length).toBeGreaterThan(0.005);
  });
  it('batches have the right sizes and values in 0..1, with masks from alpha', () => {
    const b = makeBatch([face], 3, { ...o, warp: true, color: true }, new Rng(1), true, () => 0);
    expect(b.input.length).toBe(3 * 64 * 64 * 3);
    expect(b.mask?.length).toBe(3 * 64 * 64);
    expect(Math.min(...b.input)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...b.input)).toBeLessThanOrEqual(1);
    expect(Math.max(...(b.mask ?? []))).toBeGreaterThan(0.9);
  });
});

describe('training step', () => {
  it('leaves tf.memory().numTensors unchanged across 100 iterations (and the loss falls)', () => {
    const m = buildAutoencoder(tf, tiny, 5);
    const adam = new Adam(tf, m.params.vars, { learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 }, 'device');
    const faces = [synthFace(22, 1), synthFace(22, 2)];
    const o = { outSize: 16, coverage: 0.75, warp: true, flip: true, transform: true, color: false };
    const rng = new Rng(9);
    const batch = () => makeBatch(faces, 4, o, rng, true, () => rng.int(2));
    trainStep(tf, m, adam, batch(), batch(), 'mae+ssim');
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    for (let i = 0; i < 100; i++) losses.push(trainStep(tf, m, adam, batch(), batch(), 'mae+ssim')[0]);
    const after = tf.memory().numTensors;
    console.log(
      `numTensors before ${before}, after 100 iterations ${after}; loss ${losses[0]?.toFixed(4)} -> ${losses[99]?.toFixed(4)}`,
    );
    expect(after).toBe(before);
    expect(losses[99]).toBeLessThan(losses[0] as number);
    adam.dispose();
    m.dispose();
  });

  it('masked128 trains its face and mask (one step, finite loss that includes the mask term)', () => {
    const cfg = trainers.masked128;
    const m = buildAutoencoder(tf, cfg, 2);
    const adam = new Adam(tf, m.params.vars, { learningRate: 5e-5, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 }, 'device');
    const faces = [synthFace(172, 1)];
    const o = { outSize: 128, coverage: 0.75, warp: true, flip: true, transform: true, color: false };
    const b = makeBatch(faces, 1, o, new Rng(1), true, () => 0);
    const before = m.params.get('decoder_a/mask/kernel').dataSync().slice();
    const [la, lb] = trainStep(tf, m, adam, b, b, 'mae');
    expect(Number.isFinite(la) && Number.isFinite(lb)).toBe(true);
    const after = m.params.get('decoder_a/mask/kernel').dataSync();
    expect(after.some((v, i) => v !== before[i])).toBe(true);
    adam.dispose();
    m.dispose();
  }, 120_000);

  it('split-side gradients (A then B, for the wasm heap) give the same update as the joint step', () => {
    const faces = [synthFace(22, 1), synthFace(22, 4)];
    const o = { outSize: 16, coverage: 0.75, warp: true, flip: false, transform: true, color: false };
    const res: Float32Array[][] = [];
    for (const split of [false, true]) {
      const m = buildAutoencoder(tf, tiny, 5);
      const adam = new Adam(
        tf,
        m.params.vars,
        { learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 },
        'device',
      );
      for (let i = 0; i < 3; i++) {
        const a = makeBatch(faces, 2, o, new Rng(i), true, () => 0);
        const b = makeBatch(faces, 2, o, new Rng(i + 10), true, () => 1);
        trainStep(tf, m, adam, a, b, 'mae', false, split);
      }
      res.push(
        ['encoder/conv1/kernel', 'decoder_a/face/kernel', 'decoder_b/face/kernel'].map(
          (k) => m.params.get(k).dataSync() as Float32Array,
        ),
      );
      adam.dispose();
      m.dispose();
    }
    for (let k = 0; k < 3; k++) {
      let err = 0;
      const x = res[0]?.[k] ?? new Float32Array();
      const y = res[1]?.[k] ?? new Float32Array();
      for (let i = 0; i < x.length; i++) err = Math.max(err, Math.abs((x[i] ?? 0) - (y[i] ?? 0)));
      expect(err).toBeLessThan(1e-5);
    }
  });

  it('host-side Adam gives the same update as device Adam', () => {
    const faces = [synthFace(22, 1)];
    const o = { outSize: 16, coverage: 0.75, warp: false, flip: false, transform: false, color: false };
    const res: Float32Array[] = [];
    for (const mode of ['device', 'host'] as const) {
      const m = buildAutoencoder(tf, tiny, 5);
      const adam = new Adam(tf, m.params.vars, { learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 }, mode);
      for (let i = 0; i < 3; i++) {
        const b = makeBatch(faces, 2, o, new Rng(i), true, () => 0);
        trainStep(tf, m, adam, b, b, 'mae');
      }
      res.push(m.params.get('encoder/conv1/kernel').dataSync() as Float32Array);
      adam.dispose();
      m.dispose();
    }
    let err = 0;
    for (let i = 0; i < (res[0]?.length ?? 0); i++)
      err = Math.max(err, Math.abs((res[0]?.[i] ?? 0) - (res[1]?.[i] ?? 0)));
    expect(err).toBeLessThan(1e-5);
  });
});

describe('model folder', () => {
  it('saves and loads exactly, and falls back to the previous save when the new one is broken', async () => {
    const m = buildAutoencoder(tf, tiny, 3);
    const adam = new Adam(tf, m.params.vars, { learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 }, 'device');
    const mdir = join(dir, 'io');
    const fields = (iteration: number) => ({
      trainer: 'tiny',
      inputSize: 16,
      outputSize: 16,
      hasMask: true,
      coverage: 0.75,
      seed: 3,
      iteration,
      lossA: [0.5],
      lossB: [0.4],
      optimizer: { name: 'adam' as const, learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 },
      options: {},
      trainSeconds: 0,
    });
    await saveModel(mdir, m, adam, fields(1));
    const w1 = m.params.get('encoder/conv1/kernel').dataSync().slice();
    const b = makeBatch(
      [synthFace(22, 1)],
      2,
      { outSize: 16, coverage: 0.75, warp: false, flip: false, transform: false, color: false },
      new Rng(1),
      true,
      () => 0,
    );
    trainStep(tf, m, adam, b, b, 'mae');
    await saveModel(mdir, m, adam, fields(2));
    const cur = await readModelFiles(mdir);
    expect(cur.state.iteration).toBe(2);
    expect(cur.from).toBe('current');
    expect(cur.optimizer?.length).toBe(2 * m.params.count());
    // A broken new weights file: the reader falls back to the previous save (state.json.bak and its weights).
    await writeFile(cur.weightsFile, 'garbage');
    const prev = await readModelFiles(mdir);
    expect(prev.from).toBe('backup');
    expect(prev.state.iteration).toBe(1);
    const e = prev.state.tensors.find((t) => t.name === 'encoder/conv1/kernel');
    expect(Array.from(prev.weights.subarray(e?.offset ?? 0, (e?.offset ?? 0) + w1.length))).toEqual(Array.from(w1));
    adam.dispose();
    m.dispose();
  });
});

describe('train loop', () => {
  const opts = (modelDir: string, iterations: number, extra: Record<string, unknown> = {}) =>
    parseOptions(trainStage.options, {
      inputA: join(dir, 'A'),
      inputB: join(dir, 'B'),
      modelDir,
      trainer: 'lightweight',
      batchSize: 2,
      iterations,
      saveEvery: 2,
      previewEvery: 4,
      learningRate: 1e-4,
      backend: 'wasm',
      seed: 42,
      ...extra,
    });
  const hooks = { progress: () => {}, log: () => {}, shouldStop: () => false };

  it(
    'resumes exactly: 4 + 4 iterations equal 8 straight (loss history, Adam step, weights)',
    { timeout: 180_000 },
    async () => {
      const straight = join(dir, 'straight');
      const split = join(dir, 'split');
      await trainLoop(opts(straight, 8), hooks);
      const r1 = await trainLoop(opts(split, 4), hooks);
      expect(r1.iteration).toBe(4);
      const r2 = await trainLoop(opts(split, 8), hooks);
      expect(r2.resumed).toBe(true);
      expect(r2.startIteration).toBe(4);
      const a = await readModelFiles(straight);
      const b = await readModelFiles(split);
      expect(b.state.iteration).toBe(8);
      expect(b.state.optimizer.step).toBe(8);
      expect(b.state.lossA.length).toBe(8);
      const maxDiff = (x: ArrayLike<number>, y: ArrayLike<number>) => {
        let d = 0;
        for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs((x[i] ?? 0) - (y[i] ?? 0)));
        return d;
      };
      console.log(
        `resume: loss history max diff ${maxDiff(a.state.lossA, b.state.lossA)}, weights max diff ${maxDiff(a.weights, b.weights)}, adam max diff ${maxDiff(a.optimizer ?? [], b.optimizer ?? [])}`,
      );
      expect(maxDiff(a.state.lossA, b.state.lossA)).toBeLessThan(1e-6);
      expect(maxDiff(a.state.lossB, b.state.lossB)).toBeLessThan(1e-6);
      expect(maxDiff(a.weights, b.weights)).toBeLessThan(1e-6);
      expect(maxDiff(a.optimizer ?? [], b.optimizer ?? [])).toBeLessThan(1e-6);
      expect(JSON.parse(await readFile(join(split, 'state.json'), 'utf8')).trainer).toBe('lightweight');
    },
  );

  it('stops on a NaN loss and restores the last good save', { timeout: 120_000 }, async () => {
    const mdir = join(dir, 'nan');
    let err: unknown;
    try {
      await trainLoop(opts(mdir, 20), { ...hooks, nanAt: 5 });
    } catch (e) {
      err = e;
    }
    expect(isUserError(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/NaN at iteration 5.*iteration 4/);
    const saved = await readModelFiles(mdir);
    expect(saved.state.iteration).toBe(4);
    expect(saved.weights.every((v) => Number.isFinite(v))).toBe(true);
  });

  it('refuses a model folder of another trainer', async () => {
    await expect(trainLoop(opts(join(dir, 'straight'), 9, { trainer: 'masked128' }), hooks)).rejects.toThrow(
      /model is 'lightweight'/,
    );
  });
});
