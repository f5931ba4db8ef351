/**
 * Extract -> train pipeline on the real clips: faces of person A and person B are extracted with the real
 * extractor, `lightweight` trains 200 seeded iterations in the worker (runTrain), then:
 * - both losses fall by >= 40% from the mean of the first 10 iterations;
 * - the preview PNG exists (and the GUI preview event came);
 * - A->A SSIM on held-out A faces (the last 20% of the clip, never trained on) beats the untrained model's.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../src-shared/options';
import type { PreviewEvent, Progress } from '../../src-shared/progress';
import { trainStage } from '../../src-shared/stages/train';
import { extractInThread } from '../helpers/extract';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';
import { loadTf } from '../../src-main/engine/tf/backend';
import { centreCrop } from '../../src-main/engine/train/augment';
import { cacheSizeFor, loadFaces, listFaces } from '../../src-main/engine/train/data';
import { ssim } from '../../src-main/engine/train/loss';
import { buildAutoencoder, trainerConfig } from '../../src-main/engine/train/models/index';
import { loadFaceModel } from '../../src-main/engine/train/predict';
import { runTrain } from '../../src-main/engine/train/run';

// Training runs its 200 seeded iterations, so the result is the same on a loaded machine (a slow one only takes
// longer). FSS_TRAIN_SECONDS stops it earlier, for trying the test by hand.
const TRAIN_SECONDS = process.env.FSS_TRAIN_SECONDS ? Number(process.env.FSS_TRAIN_SECONDS) : undefined;
let dir = '';
const extractor = 'runExtract';

async function extractFaces(video: string, out: string): Promise<void> {
  await extractInThread({
    input: video,
    output: out,
    everyN: 3,
    alignments: join(out, '..', `${out.split('/').pop()}.alignments.json`),
  });
}

beforeAll(async () => {
  if (!hasTestdata) return;
  dir = await scratchDir('train-run');
  const t0 = Date.now();
  // One after the other: both would share this thread's face models.
  await extractFaces(videos.personA, join(dir, 'A'));
  await extractFaces(videos.personB, join(dir, 'B'));
  // Hold out the last 20% of A (in time) for evaluation.
  const names = (await readdir(join(dir, 'A'))).filter((n) => n.endsWith('.png')).sort();
  const held = names.slice(Math.floor(names.length * 0.8));
  await mkdir(join(dir, 'heldA'));
  for (const n of held) await rename(join(dir, 'A', n), join(dir, 'heldA', n));
  console.log(
    `extracted with ${extractor} in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${names.length - held.length} A (+${held.length} held out), ${(await readdir(join(dir, 'B'))).filter((n) => n.endsWith('.png')).length} B`,
  );
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const mean = (a: readonly number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);

describe.skipIf(!hasTestdata)('train lightweight on extracted faces (person A, person B)', () => {
  it('losses fall >= 40%, preview written, held-out A->A SSIM beats the untrained model', async () => {
    const modelDir = join(dir, 'model');
    const options = parseOptions(trainStage.options, {
      inputA: join(dir, 'A'),
      inputB: join(dir, 'B'),
      modelDir,
      trainer: 'lightweight',
      batchSize: 4,
      iterations: 200,
      learningRate: 3e-4,
      // The loss its thresholds were measured with, not the stage default (mae+ssim since issue 12).
      loss: 'mae',
      saveEvery: 50,
      previewEvery: 25,
      timelapse: join(dir, 'timelapse'),
      backend: 'wasm',
      seed: 7,
    });
    const ac = new AbortController();
    const events: Progress[] = [];
    const previews: PreviewEvent[] = [];
    const t0 = Date.now();
    const timer = TRAIN_SECONDS === undefined ? undefined : setTimeout(() => ac.abort(), TRAIN_SECONDS * 1000);
    const result = await runTrain(options, {
      signal: ac.signal,
      progress: (p) => events.push(p),
      log: () => {},
      preview: (p) => previews.push(p),
    });
    clearTimeout(timer);
    const wall = (Date.now() - t0) / 1000;

    const state = JSON.parse(await readFile(join(modelDir, 'state.json'), 'utf8')) as {
      iteration: number;
      lossA: number[];
      lossB: number[];
    };
    const n = state.lossA.length;
    const firstA = mean(state.lossA.slice(0, 10));
    const firstB = mean(state.lossB.slice(0, 10));
    const lastA = mean(state.lossA.slice(-10));
    const lastB = mean(state.lossB.slice(-10));
    console.log(
      `trained ${result.iteration} iterations in ${wall.toFixed(0)} s on ${result.backend} (stopped: ${result.stopped}), ${result.egs.toFixed(1)} EGs/s; ` +
        `loss A ${firstA.toFixed(4)} -> ${lastA.toFixed(4)} (-${((1 - lastA / firstA) * 100).toFixed(0)}%), ` +
        `loss B ${firstB.toFixed(4)} -> ${lastB.toFixed(4)} (-${((1 - lastB / firstB) * 100).toFixed(0)}%)`,
    );
    expect(n).toBe(result.iteration);
    expect(n).toBeGreaterThanOrEqual(20);
    expect(lastA).toBeLessThanOrEqual(firstA * 0.6);
    expect(lastB).toBeLessThanOrEqual(firstB * 0.6);

    // Progress lines carry the --json fields.
    const m = events.filter((e) => e.metrics && e.title === 'Training').at(-1)?.metrics;
    expect(m && ['iteration', 'lossA', 'lossB', 'egs'].every((k) => typeof m[k] === 'number')).toBe(true);

    // Preview grid: 6 columns of 64 px (+4 px gap), 4 rows.
    const meta = await sharp(join(modelDir, 'preview.png')).metadata();
    expect([meta.width, meta.height]).toEqual([6 * 64 + 4, 4 * 64]);
    expect(previews.length).toBeGreaterThan(0);
    expect(previews.at(-1)?.kind).toBe('train-grid');
    expect((await readdir(join(dir, 'timelapse'))).length).toBeGreaterThan(0);

    // Held-out A->A SSIM: trained vs the same network at its initial weights.
    const loaded = await loadFaceModel(modelDir, { backend: 'wasm' });
    const { tf } = await loadTf({ backend: 'wasm' });
    const cfg = trainerConfig('lightweight');
    const held = await loadFaces(await listFaces(join(dir, 'heldA')), cacheSizeFor(cfg.size, loaded.coverage));
    const S = cfg.size;
    const crops = new Float32Array(held.length * S * S * 3);
    held.forEach((f, i) => crops.set(centreCrop(f, S, loaded.coverage).rgb, i * S * S * 3));
    const trainedOut = loaded.predict(crops, held.length, 'a-to-a').face;
    const untrained = buildAutoencoder(tf, cfg, 7);
    const score = (pred: Float32Array | (() => Float32Array)) =>
      tf.tidy(() => {
        const p = typeof pred === 'function' ? pred() : pred;
        return ssim(
          tf,
          tf.tensor4d(p, [held.length, S, S, 3]),
          tf.tensor4d(crops, [held.length, S, S, 3]),
        ).dataSync()[0] as number;
      });
    const ssimTrained = score(trainedOut);
    const ssimUntrained = score(
      () => untrained.forward(tf.tensor4d(crops, [held.length, S, S, 3]), 'a').face.dataSync() as Float32Array,
    );
    console.log(
      `held-out A->A SSIM on ${held.length} faces: trained ${ssimTrained.toFixed(4)}, untrained ${ssimUntrained.toFixed(4)}`,
    );
    expect(ssimTrained).toBeGreaterThan(ssimUntrained);
    untrained.dispose();
    loaded.dispose();
  }, 600_000);
});
