/**
 * Swap quality on the quick pair (../shared/testdata: person A's and person B's clips), trained from scratch on
 * this machine. Both benches extract the two clips, train (seed 7) and convert person A's clip with the model,
 * whose quality report (docs/quality.md) is the result:
 * - `quality.defaults`: a seeded A/B comparison of training settings BY ITERATIONS (a loaded machine changes the
 *   time, not the model): each setting of FSS_QUALITY_SETTINGS (names below; default all) trained to
 *   FSS_QUALITY_ITERS (default 200) iterations;
 *   (`lightweight` at batch 16 unless FSS_QUALITY_TRAINER / FSS_QUALITY_BATCH say otherwise);
 * - `quality.time`: quality against training time: for the studio's proposal on this machine (`proposed`) and the
 *   defaults before issue 12 (`lr5e-5-mae`), or FSS_QUALITY_TIME_SETTINGS, the report at each of
 *   FSS_QUALITY_MINUTES (default 10,20,40,60) minutes of training; the table and a plot go to
 *   bench/results/quality-time.md and .png. Two hours and more of the machine: run it on its own
 *   (`npm run bench -- quality.time`; `npm run bench -- quality` runs both benches).
 * Each report row: sharpness.ratio, identity.margin, retrievalToTarget, pose and expression error, the verdict,
 * plus the reconstruction SSIM of the training faces (A->A, B->B) at the model's resolution.
 * FSS_QUALITY_CONVERT=0 skips the conversion (minutes per row on a loaded 2-core machine) and keeps the
 * reconstruction scores: SSIM and the sharpness ratio (variance of the Laplacian inside the face's landmark mask,
 * reconstruction over original) of every training face at the model's resolution. FSS_QUALITY_PAIR=<dir> reuses
 * an earlier run's extraction (facesA, facesB, personA.mp4 in <dir>; kept afterwards).
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench } from './types';
import { qualityTimePlot, qualityTimeTable, type TimeRow } from './quality-plot';
import { proposeTraining } from '../src-shared/train-proposal';
import { parseOptions } from '../src-shared/options';
import type { QualityReport } from '../src-shared/formats/quality';
import { convertOptions } from '../src-shared/stages/convert';
import { extractStage } from '../src-shared/stages/extract';
import { trainStage } from '../src-shared/stages/train';
import { runConvert } from '../src-main/engine/convert/run';
import { laplacianVariance, ssim, summarise } from '../src-main/engine/evaluate/metrics';
import { runExtract } from '../src-main/engine/extract/run';
import { quietContext, type StageContext } from '../src-main/engine/stage';
import { centreCrop } from '../src-main/engine/train/augment';
import { cacheSizeFor, listFaces, loadFaces } from '../src-main/engine/train/data';
import { readModelFiles } from '../src-main/engine/train/model-io';
import { loadFaceModel } from '../src-main/engine/train/predict';
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

/**
 * The studio's proposal for this machine (src-shared/train-proposal.ts) from its core count (a CPU machine: the
 * bench does not look for a GPU), less what does not change the model (previews).
 */
function proposedSettings(): Record<string, unknown> {
  const o: Record<string, unknown> = { ...proposeTraining({ cpus: cpus().length }).options };
  delete o.previewEverySeconds;
  delete o.previewEvery;
  return o;
}
/** FSS_QUALITY_TRAINER (default lightweight; `sae` takes `saePreset: 'cpu'`), FSS_QUALITY_BATCH (default 16). */
const TRAINER = process.env.FSS_QUALITY_TRAINER ?? 'lightweight';
const BATCH = Number(process.env.FSS_QUALITY_BATCH ?? 16);
const TRAINER_OPTIONS: Record<string, unknown> = TRAINER === 'sae' ? { saePreset: 'cpu' } : {};
/** FSS_QUALITY_RECON_EVERY: score every Nth training face only (default 1: all of them). */
const RECON_EVERY = Number(process.env.FSS_QUALITY_RECON_EVERY ?? 1);

interface Pair {
  dir: string;
  videoA: string;
  facesA: string;
  facesB: string;
}

async function preparePair(): Promise<Pair> {
  const reuse = process.env.FSS_QUALITY_PAIR;
  if (reuse) {
    return {
      dir: reuse,
      videoA: join(reuse, 'personA.mp4'),
      facesA: join(reuse, 'facesA'),
      facesB: join(reuse, 'facesB'),
    };
  }
  const dir = await mkdtemp(join(tmpdir(), 'fss-quality-bench-'));
  const videoA = join(dir, 'personA.mp4');
  const videoB = join(dir, 'personB.mp4');
  await cp(join(testdataDir, 'videos', 'personA_short_lp-d18.mp4'), videoA);
  await cp(join(testdataDir, 'videos', 'personB_short_lp-d19.mp4'), videoB);
  const facesA = join(dir, 'facesA');
  const facesB = join(dir, 'facesB');
  // FSS_QUALITY_EVERY_N: extract every Nth frame only (a cheaper pair for the wider trainers' comparison).
  const everyN = Number(process.env.FSS_QUALITY_EVERY_N ?? 1);
  await runExtract(parseOptions(extractStage.options, { input: videoA, output: facesA, everyN }), quietContext());
  await runExtract(parseOptions(extractStage.options, { input: videoB, output: facesB, everyN }), quietContext());
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
  let last = 0;
  const ctx: StageContext = {
    ...quietContext(),
    signal: controller.signal,
    progress: (p) => {
      // A line every 25 iterations on stderr: the bench's stdout stays one JSON document.
      if (p.done !== undefined && p.done >= last + 25) {
        last = p.done;
        process.stderr.write(`    iteration ${p.done}: ${p.detail ?? ''}\n`);
      }
    },
  };
  try {
    return await runTrain(
      parseOptions(trainStage.options, {
        inputA: pair.facesA,
        inputB: pair.facesB,
        modelDir,
        trainer: TRAINER,
        batchSize: BATCH,
        previewEvery: 0,
        saveEvery: 1000,
        seed: SEED,
        iterations,
        ...TRAINER_OPTIONS,
        ...settings,
      }),
      ctx,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** SSIM and sharpness ratio (median over faces) of A->A and B->B on the training faces, at the model's size. */
async function reconstructionScores(pair: Pair, modelDir: string): Promise<Record<string, number>> {
  const model = await loadFaceModel(modelDir);
  try {
    const S = model.size;
    const out: Record<string, number> = {};
    for (const [side, dir, direction] of [
      ['A', pair.facesA, 'a-to-a'],
      ['B', pair.facesB, 'b-to-b'],
    ] as const) {
      const files = (await listFaces(dir)).filter((_f, i) => i % RECON_EVERY === 0);
      const faces = await loadFaces(files, cacheSizeFor(S, model.coverage));
      const ss: number[] = [];
      const sharp: number[] = [];
      for (const f of faces) {
        const { rgb, mask } = centreCrop(f, S, model.coverage);
        const rec = model.predict(rgb, 1, direction).face;
        const to8 = (x: Float32Array) => Uint8Array.from(x, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
        const o8 = to8(rgb);
        const r8 = to8(rec);
        ss.push(ssim(o8, r8, S, S));
        sharp.push(laplacianVariance(r8, S, S, mask) / laplacianVariance(o8, S, S, mask));
      }
      const med = (v: number[]) => v.sort((x, y) => x - y)[v.length >> 1] as number;
      out[`reconstructionSsim${side}`] = +summarise(ss).mean.toFixed(4);
      out[`reconstructionSharpness${side}`] = +med(sharp).toFixed(3);
    }
    return out;
  } finally {
    model.dispose();
  }
}

/** Converts person A's clip with the model; the quality report's summary plus the reconstruction scores. */
async function measure(pair: Pair, modelDir: string, tag: string): Promise<Record<string, unknown>> {
  const state = (await readModelFiles(modelDir)).state;
  const head = { iteration: state.iteration, trainSeconds: +state.trainSeconds.toFixed(0) };
  const recon = await reconstructionScores(pair, modelDir);
  if (process.env.FSS_QUALITY_CONVERT === '0') return { ...head, ...recon };
  const out = join(pair.dir, `swapped-${tag}.mp4`);
  const r = await runConvert(
    parseOptions(convertOptions, { input: pair.videoA, output: out, model: modelDir }),
    quietContext(),
  );
  const rep = JSON.parse(await readFile(r.quality as string, 'utf8')) as QualityReport;
  return {
    ...head,
    verdict: rep.verdict,
    sharpness: +rep.sharpness.ratio.toFixed(3),
    margin: +rep.identity.margin.toFixed(3),
    retrievalToTarget: +rep.identity.retrievalToTarget.toFixed(3),
    similarityToTarget: +rep.identity.similarityToTarget.mean.toFixed(3),
    similarityToSource: +rep.identity.similarityToSource.mean.toFixed(3),
    poseErrorDeg: +rep.pose.errorDeg.mean.toFixed(2),
    expressionError: +rep.expression.error.mean.toFixed(4),
    detectorOnSwapped: +rep.detection.swappedScore.mean.toFixed(3),
    ...recon,
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
          const modelDir = join(pair.dir, `model-${TRAINER}-${name}`);
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
        if (!process.env.FSS_QUALITY_PAIR) await rm(pair.dir, { recursive: true, force: true });
      }
      return { iterations, seed: SEED, rows };
    },
  },
  {
    name: 'quality.time',
    description: `the quick pair from scratch, seed ${SEED}: the quality report at FSS_QUALITY_MINUTES (10,20,40,60) minutes of training, for each setting of FSS_QUALITY_TIME_SETTINGS (default: proposed, the studio's proposal for this machine's cores, and lr5e-5-mae, the defaults before issue 12); writes bench/results/quality-time.md (table) and quality-time.png (plot)`,
    async run() {
      const minutes = (process.env.FSS_QUALITY_MINUTES ?? '10,20,40,60').split(',').map(Number);
      const names = (process.env.FSS_QUALITY_TIME_SETTINGS ?? 'proposed,lr5e-5-mae').split(',');
      const pair = await preparePair();
      const series: Record<string, TimeRow[]> = {};
      try {
        for (const name of names) {
          const settings = name === 'proposed' ? proposedSettings() : SETTINGS[name];
          if (!settings)
            throw new Error(`unknown setting ${name} (have proposed, ${Object.keys(SETTINGS).join(', ')})`);
          const rows: TimeRow[] = (series[name] = []);
          const modelDir = join(pair.dir, `model-time-${name}`);
          let trained = 0;
          for (const m of minutes) {
            // Only training counts: converting and measuring happen between the sessions.
            await train(pair, modelDir, settings, 100_000_000, Math.max(1, m * 60 - trained));
            trained = (await readModelFiles(modelDir)).state.trainSeconds;
            rows.push({ minutes: m, ...(await measure(pair, modelDir, `${name}-${m}min`)) });
            process.stderr.write(`  ${name}, ${m} min: ${JSON.stringify(rows.at(-1))}\n`);
          }
        }
      } finally {
        if (!process.env.FSS_QUALITY_PAIR) await rm(pair.dir, { recursive: true, force: true });
      }
      const out = join(import.meta.dirname, 'results');
      await mkdir(out, { recursive: true });
      const table = qualityTimeTable(series);
      await writeFile(join(out, 'quality-time.md'), `${table}\n`);
      await qualityTimePlot(series, join(out, 'quality-time.png'));
      process.stderr.write(`${table}\n(bench/results/quality-time.md, quality-time.png)\n`);
      return { settings: names, proposed: proposedSettings(), seed: SEED, series };
    },
  },
];
