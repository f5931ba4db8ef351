/**
 * Where extraction and conversion spend their time, at 1 worker and at every core, on a 480p, a 720p and a 1080p
 * clip: frames/s, milliseconds per frame of each pipeline step (summed over every worker, so with N workers the
 * steps add up to about N times the wall time), and the peak resident memory of the process (worker threads
 * included) during the run.
 *
 *   extract steps: decode, detect (detection passes), landmarks (tracking meshes), identity, smooth (in-order
 *                  stage), align, write (PNG encode + write); the decode is counted twice (both passes).
 *   convert steps: decode, faces, model, blend, watermark, encode, quality (the quality report, when on).
 *
 * Inputs: personA (480x480, 216 frames), the vertical clip (720x1280, first 120 frames) and that clip scaled to
 * 1080x1920 (first 60 frames, made with ffmpeg in a scratch folder). Convert uses a lightweight model (trained for
 * 1 iteration: speed does not depend on training), with the quality report off (`.q0`) and on (`.default`).
 * `FSS_BENCH_WORKERS=1,2` chooses the worker counts (default: 1 and every core).
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench } from './types';
import { hasTestdata, videos } from '../tests/helpers/testdata';
import { cutClip, loopClip } from '../tests/helpers/clips';
import { extractFaces, quickModel } from './fixtures';
import { withPeakRss } from './rss';

type Clip = '480p' | '720p' | '1080p';
interface Setup {
  dir: string;
  clips: Record<Clip, string>;
  model: string;
  /** A 1-iteration `masked128` model on the same faces (built when a `.m128` point first runs). */
  masked128?: Promise<string>;
}
let setup: Promise<Setup> | null = null;

const workerCounts = (process.env.FSS_BENCH_WORKERS ?? `1,${availableParallelism()}`)
  .split(',')
  .map(Number)
  .filter((n, i, a) => n >= 1 && a.indexOf(n) === i);

async function prepare(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'fss-bench-breakdown-'));
  process.env.FSS_CONFIG_DIR = join(dir, 'config');
  const clips: Record<Clip, string> = {
    '480p': join(dir, 'personA.mp4'),
    '720p': join(dir, 'vertical720.mp4'),
    '1080p': join(dir, 'vertical1080.mp4'),
  };
  await cp(videos.personA, clips['480p']);
  await cutClip(videos.vertical, clips['720p'], 120);
  await cutClip(videos.vertical, clips['1080p'], 60, [1080, 1920]);
  // Alignments for convert, and faces for the model (not timed).
  for (const c of Object.values(clips)) await extractFaces(c, `${c}.faces`);
  const model = await quickModel(dir, `${clips['480p']}.faces`, `${clips['720p']}.faces`);
  return { dir, clips, model };
}

const perFrame = (steps: Record<string, number>, frames: number) =>
  Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, +(v / Math.max(1, frames)).toFixed(2)]));

async function extractAt(clip: Clip): Promise<Record<string, unknown>> {
  if (!hasTestdata) return { skipped: 'test data not found' };
  setup ??= prepare();
  const s = await setup;
  const { runExtract } = await import('../src-main/engine/extract/run');
  const { parseOptions } = await import('../src-shared/options');
  const { extractOptions } = await import('../src-shared/stages/extract');
  const { quietContext } = await import('../src-main/engine/stage');
  const out: Record<string, unknown> = {};
  for (const workers of workerCounts) {
    const dir = join(s.dir, `x-${clip}-${workers}`);
    const t0 = performance.now();
    const {
      value: r,
      peakRssMiB,
      peakTreeRssMiB,
    } = await withPeakRss(() =>
      runExtract(
        parseOptions(extractOptions, { input: s.clips[clip], output: dir, alignments: `${dir}.json` }),
        quietContext(),
        { workers },
      ),
    );
    const ms = performance.now() - t0;
    out[`workers${workers}`] = {
      framesPerSecond: +(r.framesProcessed / (ms / 1000)).toFixed(2),
      frames: r.framesProcessed,
      workers: r.workers,
      msPerFrame: perFrame(r.steps, r.framesProcessed),
      peakRssMiB,
      peakTreeRssMiB,
    };
    await rm(dir, { recursive: true, force: true });
  }
  return withSpeedup(out);
}

/**
 * The quality report caches each identity's mean descriptor in the config folder (evaluate/run.ts): every timed
 * run starts without it (a first conversion with a model); `warm` runs once more with it (the next ones), at the
 * default number of workers.
 */
async function clearIdentityCache(): Promise<void> {
  const { identityCacheDir } = await import('../src-main/engine/evaluate/run');
  await rm(identityCacheDir(), { recursive: true, force: true });
}

function withSpeedup(out: Record<string, unknown>): Record<string, unknown> {
  const fps = (k: string) => (out[k] as { framesPerSecond?: number } | undefined)?.framesPerSecond;
  const one = fps('workers1'),
    all = fps(`workers${Math.max(...workerCounts)}`);
  if (one && all && workerCounts.length > 1) out.speedup = +(all / one).toFixed(2);
  return out;
}

async function convertAt(
  clip: Clip,
  qualityReport: boolean,
  trainer: 'lightweight' | 'masked128' = 'lightweight',
): Promise<Record<string, unknown>> {
  if (!hasTestdata) return { skipped: 'test data not found' };
  setup ??= prepare();
  const s = await setup;
  const model = trainer === 'lightweight' ? s.model : await masked128(s);
  const { runConvert } = await import('../src-main/engine/convert/run');
  const { parseOptions } = await import('../src-shared/options');
  const { convertOptions } = await import('../src-shared/stages/convert');
  const { quietContext } = await import('../src-main/engine/stage');
  const out: Record<string, unknown> = {};
  // `warm`: the default number of frame workers (by the model: convert/frame-pool.ts), the identity cache kept.
  const runs: Array<[string, number | undefined]> = workerCounts.map((w) => [`workers${w}`, w]);
  if (qualityReport) runs.push(['warm', undefined]);
  for (const [name, workers] of runs) {
    if (name !== 'warm') await clearIdentityCache();
    const t0 = performance.now();
    const {
      value: r,
      peakRssMiB,
      peakTreeRssMiB,
    } = await withPeakRss(() =>
      runConvert(
        parseOptions(convertOptions, {
          input: s.clips[clip],
          output: join(s.dir, `out-${clip}.mp4`),
          model,
          qualityReport,
        }),
        quietContext(),
        workers ? { workers } : {},
      ),
    );
    const ms = performance.now() - t0;
    out[name] = {
      framesPerSecond: +(r.frames / (ms / 1000)).toFixed(2),
      frames: r.frames,
      workers: r.workers,
      msPerFrame: perFrame(r.steps, r.frames),
      peakRssMiB,
      peakTreeRssMiB,
    };
  }
  return withSpeedup(out);
}

function masked128(s: Setup): Promise<string> {
  s.masked128 ??= quickModel(s.dir, `${s.clips['480p']}.faces`, `${s.clips['720p']}.faces`, 'masked128');
  return s.masked128;
}

/**
 * The quality report alone (the evaluate stage, as convert runs it: the clip against its conversion, the model's
 * training faces as the identities) at 1 worker and every core; the conversion it measures is made first, untimed.
 * The time counts the whole stage: the identity means, then the frames.
 */
async function evaluateAt(clip: Clip): Promise<Record<string, unknown>> {
  if (!hasTestdata) return { skipped: 'test data not found' };
  setup ??= prepare();
  const s = await setup;
  const { runConvert } = await import('../src-main/engine/convert/run');
  const { runEvaluate } = await import('../src-main/engine/evaluate/run');
  const { parseOptions } = await import('../src-shared/options');
  const { convertOptions } = await import('../src-shared/stages/convert');
  const { evaluateStage } = await import('../src-shared/stages/evaluate');
  const { quietContext } = await import('../src-main/engine/stage');
  const swapped = join(s.dir, `eval-${clip}.mp4`);
  await runConvert(
    parseOptions(convertOptions, { input: s.clips[clip], output: swapped, model: s.model, qualityReport: false }),
    quietContext(),
  );
  const out: Record<string, unknown> = {};
  for (const [name, workers] of [
    ...workerCounts.map((w) => [`workers${w}`, w] as const),
    ['warm', Math.max(...workerCounts)] as const,
  ]) {
    if (name !== 'warm') await clearIdentityCache();
    const options = parseOptions(evaluateStage.options, {
      original: s.clips[clip],
      swapped,
      sourceFaces: [`${s.clips['480p']}.faces`],
      targetFaces: [`${s.clips['720p']}.faces`],
      report: join(s.dir, `eval-${clip}-${name}.json`),
    });
    const t0 = performance.now();
    const {
      value: r,
      peakRssMiB,
      peakTreeRssMiB,
    } = await withPeakRss(() => runEvaluate(options, quietContext(), { workers }));
    const ms = performance.now() - t0;
    out[name] = {
      framesPerSecond: +(r.frames.measured / (ms / 1000)).toFixed(2),
      frames: r.frames.measured,
      seconds: +(ms / 1000).toFixed(2),
      peakRssMiB,
      peakTreeRssMiB,
    };
  }
  return withSpeedup(out);
}

/**
 * Peak memory of a 1080p conversion against the clip's length: 120 frames of the vertical clip at 1080x1920, and
 * the same frames looped three times (360), default options (quality report on), every core. The queues are fixed,
 * so the peak should not grow with the length. Each conversion runs in a fresh process (bench/rss-convert.ts), as
 * a CLI conversion does: in this one the set-up's extraction and training, and the other conversion, would leave
 * their memory behind (measured: the second of two conversions in one process started ~250 MiB higher).
 */
async function convertRss1080p(): Promise<Record<string, unknown>> {
  if (!hasTestdata) return { skipped: 'test data not found' };
  const dir = await mkdtemp(join(tmpdir(), 'fss-bench-rss-'));
  process.env.FSS_CONFIG_DIR = join(dir, 'config');
  try {
    const once = join(dir, 'vertical1080.mp4');
    const thrice = join(dir, 'vertical1080x3.mp4');
    await cutClip(videos.vertical, once, 120, [1080, 1920]);
    await loopClip(once, thrice, 3);
    for (const c of [once, thrice]) await extractFaces(c, `${c}.faces`);
    const model = await quickModel(dir, `${once}.faces`, `${thrice}.faces`);
    const out: Record<string, unknown> = {};
    for (const [name, input] of [
      ['frames120', once],
      ['frames360', thrice],
    ] as const)
      out[name] = await inFreshProcess({ input, output: join(dir, `out-${name}.mp4`), model });
    const tree = (k: string) => (out[k] as { peakTreeRssMiB: number }).peakTreeRssMiB;
    out.treeGrowth = +(tree('frames360') / tree('frames120')).toFixed(3);
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs bench/rss-convert.ts in a new process (this one's node flags, so tsx) and returns the JSON it prints. */
function inFreshProcess(args: { input: string; output: string; model: string }): Promise<Record<string, unknown>> {
  const script = fileURLToPath(new URL('./rss-convert.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, script, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code === 0 && last.startsWith('{')) resolve(JSON.parse(last) as Record<string, unknown>);
      else reject(new Error(`rss-convert exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`));
    });
  });
}

export const benches: Bench[] = [
  {
    name: 'breakdown.convert.rss.1080p',
    description:
      'peak RSS of a 1080p conversion (default options, every core), this process and with its ffmpeg processes, for 120 frames and the same frames looped three times',
    run: convertRss1080p,
  },
  ...(['480p', '720p', '1080p'] as const).map((clip) => ({
    name: `breakdown.extract.${clip}`,
    description: `extract frames/s, ms per frame per step and peak RSS at 1 worker and every core, ${clip}, every frame, default options`,
    run: () => extractAt(clip),
  })),
  ...(['480p', '720p', '1080p'] as const).flatMap((clip) => [
    {
      name: `breakdown.convert.q0.${clip}`,
      description: `convert frames/s, ms per frame per step and peak RSS at 1 worker and every core, ${clip}, lightweight (64 px), quality report off`,
      run: () => convertAt(clip, false),
    },
    {
      name: `breakdown.convert.default.${clip}`,
      description: `convert frames/s, ms per frame per step and peak RSS at 1 worker and every core, ${clip}, lightweight (64 px), default options (quality report on)`,
      run: () => convertAt(clip, true),
    },
  ]),
  {
    name: 'breakdown.convert.m128.720p',
    description:
      'convert frames/s, ms per frame per step and peak RSS at 1 worker and every core, 720p, masked128 (128 px), quality report off',
    run: () => convertAt('720p', false, 'masked128'),
  },
  ...(['480p', '720p'] as const).map((clip) => ({
    name: `breakdown.evaluate.${clip}`,
    description: `the quality report alone (identity means and every frame) frames/s and peak RSS at 1 worker and every core, ${clip}, default options`,
    run: () => evaluateAt(clip),
  })),
  {
    name: 'breakdown.cleanup',
    description: 'removes the scratch folder of the breakdown benches',
    async run() {
      if (setup) await rm((await setup).dir, { recursive: true, force: true });
      setup = null;
      return {};
    },
  },
];
