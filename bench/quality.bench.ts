/**
 * Swap quality on the quick pair (../shared/testdata: person A's and person B's clips), trained from scratch on
 * this machine. Both benches extract the two clips, train `lightweight` (seed 7, batch 16) and convert person A's
 * clip with the model, whose quality report (docs/quality.md) is the result:
 * - `quality.defaults`: a seeded A/B comparison of training settings BY ITERATIONS (a loaded machine changes the
 *   time, not the model): each setting of FSS_QUALITY_SETTINGS (names below; default all) trained to
 *   FSS_QUALITY_ITERS (default 200) iterations;
 * - `quality.time`: quality against training time with the proposed defaults: at each of FSS_QUALITY_MINUTES
 *   (default 10,20,40,60) minutes of training, the report. An hour and more: run it on its own
 *   (`npm run bench -- quality.time`).
 * Each report row: sharpness.ratio, identity.margin, retrievalToTarget, pose and expression error, the verdict,
 * plus the reconstruction SSIM of the training faces (A->A, B->B) at the model's resolution.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench } from './types';
import { parseOptions } from '../src-shared/options';
import type { QualityReport } from '../src-shared/formats/quality';
import { convertOptions } from '../src-shared/stages/convert';
import { extractStage } from '../src-shared/stages/extract';
import { trainStage } from '../src-shared/stages/train';
import { runConvert } from '../src-main/engine/convert/run';
import { runEvaluate } from '../src-main/engine/evaluate/run';
import { runExtract } from '../src-main/engine/extract/run';
import { quietContext, type StageContext } from '../src-main/engine/stage';
import { readModelFiles } from '../src-main/engine/train/model-io';
import { runTrain } from '../src-main/engine/train/run';
import { testdataDir } from '../tests/helpers/testdata';

/** Training settings compared by `quality.defaults` (train options over the stage defaults). */
export const SETTINGS: Record<string, Record<string, unknown>> = {
  /** The defaults before issue 12. */
  'lr5e-5-mae': { learningRate: 5e-5, loss: 'mae' },
  'lr3e-4-mae': { learningRate: 3e-4, loss: 'mae' },
  'lr3e-4-mae+ssim': { learningRate: 3e-4, loss: 'mae+ssim' },
  'lr3e-4-mae+ms-ssim': { learningRate: 3e-4, loss: 'mae:1,ms-ssim:1' },
  'lr3e-4-mae+ssim-warmup50-eyes3-mouth2': {
    learningRate: 3e-4,
    loss: 'mae+ssim',
    learningRateWarmup: 50,
    eyeMultiplier: 3,
    mouthMultiplier: 2,
  },
};

const SEED = 7;

interface Pair {
  dir: string;
  videoA: string;
  facesA: string;
  facesB: string;
}

async function preparePair(): Promise<Pair> {
  const dir = await mkdtemp(join(tmpdir(), 'fss-quality-bench-'));
  const videoA = join(dir, 'personA.mp4');
  const videoB = join(dir, 'personB.mp4');
  await cp(join(testdataDir, 'videos', 'personA_short_lp-d18.mp4'), videoA);
  await cp(join(testdataDir, 'videos', 'personB_short_lp-d19.mp4'), videoB);
  const facesA = join(dir, 'facesA');
  const facesB = join(dir, 'facesB');
  await runExtract(parseOptions(extractStage.options, { input: videoA, output: facesA }), quietContext());
  await runExtract(parseOptions(extractStage.options, { input: videoB, output: facesB }), quietContext());
  return { dir, videoA, facesA, facesB };
}

/** Trains (or resumes) to `iterations`, or until `seconds` of training when given. */
async function train(
  pair: Pair,
  modelDir: string,
  settings: Record<string, unknown>,
  iterations: number,
  seconds?: number,
) {
  const controller = new AbortController();
  const timer = seconds !== undefined ? setTimeout(() => controller.abort(), seconds * 1000) : undefined;
  const ctx: StageContext = { ...quietContext(), signal: controller.signal };
  try {
    return await runTrain(
      parseOptions(trainStage.options, {
        inputA: pair.facesA,
        inputB: pair.facesB,
        modelDir,
        trainer: 'lightweight',
        previewEvery: 0,
        saveEvery: 1000,
        seed: SEED,
        iterations,
        ...settings,
      }),
      ctx,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** Converts person A's clip with the model; the quality report's summary plus the reconstruction scores. */
async function measure(pair: Pair, modelDir: string, tag: string): Promise<Record<string, unknown>> {
  const out = join(pair.dir, `swapped-${tag}.mp4`);
  const r = await runConvert(
    parseOptions(convertOptions, { input: pair.videoA, output: out, model: modelDir }),
    quietContext(),
  );
  const rep = JSON.parse(await readFile(r.quality as string, 'utf8')) as QualityReport;
  // The reconstruction of the training faces (no held-out clip in the quick pair): how much detail the model holds.
  const rec = await runEvaluate(
    {
      original: pair.videoA,
      swapped: out,
      sourceFaces: [pair.facesA],
      targetFaces: [pair.facesB],
      model: modelDir,
      holdoutA: pair.facesA,
      holdoutB: pair.facesB,
      everyN: 24,
      report: join(pair.dir, `rec-${tag}.json`),
    },
    quietContext(),
  );
  const state = (await readModelFiles(modelDir)).state;
  return {
    iteration: state.iteration,
    trainSeconds: +state.trainSeconds.toFixed(0),
    verdict: rep.verdict,
    sharpness: +rep.sharpness.ratio.toFixed(3),
    margin: +rep.identity.margin.toFixed(3),
    retrievalToTarget: +rep.identity.retrievalToTarget.toFixed(3),
    similarityToTarget: +rep.identity.similarityToTarget.mean.toFixed(3),
    similarityToSource: +rep.identity.similarityToSource.mean.toFixed(3),
    poseErrorDeg: +rep.pose.errorDeg.mean.toFixed(2),
    expressionError: +rep.expression.error.mean.toFixed(4),
    detectorOnSwapped: +rep.detection.swappedScore.mean.toFixed(3),
    reconstructionSsimA: +(rec.reconstruction?.ssimA ?? NaN).toFixed(4),
    reconstructionSsimB: +(rec.reconstruction?.ssimB ?? NaN).toFixed(4),
  };
}

export const benches: Bench[] = [
  {
    name: 'quality.defaults',
    description: `lightweight on the quick pair, seed ${SEED}, each training setting to FSS_QUALITY_ITERS (200) iterations: the quality report of person A's clip converted`,
    async run() {
      const iterations = Number(process.env.FSS_QUALITY_ITERS ?? 200);
      const names = process.env.FSS_QUALITY_SETTINGS?.split(',') ?? Object.keys(SETTINGS);
      const pair = await preparePair();
      const rows: Record<string, unknown> = {};
      try {
        for (const name of names) {
          const settings = SETTINGS[name];
          if (!settings) throw new Error(`unknown setting ${name} (have ${Object.keys(SETTINGS).join(', ')})`);
          const modelDir = join(pair.dir, `model-${name}`);
          const t = await train(pair, modelDir, settings, iterations);
          rows[name] = {
            settings,
            lossA: +t.lossA.toFixed(4),
            lossB: +t.lossB.toFixed(4),
            ...(await measure(pair, modelDir, name)),
          };
          process.stderr.write(`  ${name}: ${JSON.stringify(rows[name])}\n`);
        }
      } finally {
        await rm(pair.dir, { recursive: true, force: true });
      }
      return { iterations, seed: SEED, rows };
    },
  },
  {
    name: 'quality.time',
    description: `lightweight on the quick pair from scratch with the proposed defaults (and FSS_QUALITY_SETTINGS' first setting, if given): the quality report at FSS_QUALITY_MINUTES (10,20,40,60) minutes of training`,
    async run() {
      const minutes = (process.env.FSS_QUALITY_MINUTES ?? '10,20,40,60').split(',').map(Number);
      const name = process.env.FSS_QUALITY_SETTINGS?.split(',')[0];
      const settings = name ? (SETTINGS[name] ?? {}) : {};
      const pair = await preparePair();
      const rows: Array<Record<string, unknown>> = [];
      try {
        const modelDir = join(pair.dir, 'model');
        let trained = 0;
        for (const m of minutes) {
          // Only training counts: converting and measuring happen between the sessions.
          await train(pair, modelDir, settings, 100_000_000, m * 60 - trained);
          trained = (await readModelFiles(modelDir)).state.trainSeconds;
          rows.push({ minutes: m, ...(await measure(pair, modelDir, `${m}min`)) });
          process.stderr.write(`  ${m} min: ${JSON.stringify(rows.at(-1))}\n`);
        }
      } finally {
        await rm(pair.dir, { recursive: true, force: true });
      }
      return { settings: name ?? 'defaults', seed: SEED, rows };
    },
  },
];
