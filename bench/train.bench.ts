/**
 * Training throughput of each trainer on each tfjs backend present: EGs/s (faces per second over both sides,
 * faceswap's definition: 2 x batch / seconds per iteration) and achieved GFLOP/s (3 x forward FLOPs per face,
 * the usual forward + backward estimate), at batch 8 and 16, on one thread and on every core (the CPU backends
 * train with one gradient worker per core, train/parallel.ts; `speedup16` = all cores / one core at batch 16). Also `half`: the half-width Original of the
 * baseline in ../shared/COMPUTE.md (wasm: 3.2 EGs/s at batch 8).
 * Runs unchanged on a GPU machine (tensorflow / webgpu are measured where they load). Limits:
 *   FSS_BENCH_BACKENDS=wasm,webgpu   FSS_BENCH_TRAINERS=lightweight,original   FSS_BENCH_SECONDS=20 (per point)
 *   FSS_BENCH_BATCHES=16   FSS_BENCH_THREADS=1,2 (default: 1 and every core)
 * cpu is only measured for lightweight at batch 8 (everything else takes minutes per iteration there).
 * Each point runs in its own process: the wasm heap only grows, so a big model after another can run out of
 * the 32-bit address space although it fits on its own.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Bench } from './types';
import { availableBackends, loadTf, type TfBackendName } from '../src-main/engine/tf/backend';
import { Adam } from '../src-main/engine/train/adam';
import { makeBatch, type Batch, type CachedFace } from '../src-main/engine/train/augment';
import {
  buildAutoencoder,
  forwardFlops,
  trainerConfig,
  trainers,
  type AutoencoderConfig,
} from '../src-main/engine/train/models/index';
import { GradientPool } from '../src-main/engine/train/parallel';
import { Rng } from '../src-main/engine/train/rng';
import { ADAM_DEFAULTS, adamModeFor, SPLIT_SIDES_FLOPS, trainStepAsync } from '../src-main/engine/train/trainer';

const half: AutoencoderConfig = {
  ...trainers.original,
  name: 'half',
  summary: 'half-width Original (COMPUTE.md baseline)',
  encoder: [64, 128, 256, 512],
  dense: 512,
  latentChannels: 512,
  encoderUpscale: 256,
  decoder: [128, 64, 32],
};

/** `sae` at its gpu preset (GPU backends only: ~55 GFLOP per face) and at its cpu preset. */
const saeCpu: AutoencoderConfig = { ...trainerConfig('sae', { saePreset: 'cpu' }), name: 'sae-cpu' };
const configs: AutoencoderConfig[] = [
  trainers.lightweight,
  half,
  trainers.masked128,
  trainers.original,
  trainers.sae,
  saeCpu,
];
const secondsPerPoint = Number(process.env.FSS_BENCH_SECONDS ?? 20);
const onlyBackends = process.env.FSS_BENCH_BACKENDS?.split(',');
const onlyTrainers = process.env.FSS_BENCH_TRAINERS?.split(',');
const batches = (process.env.FSS_BENCH_BATCHES?.split(',') ?? ['8', '16']).map(Number);
const threadCounts = (process.env.FSS_BENCH_THREADS?.split(',') ?? ['1', String(availableParallelism())])
  .map(Number)
  .filter((t, i, all) => all.indexOf(t) === i);

function synthFaces(size: number, n: number): CachedFace[] {
  const rng = new Rng(1);
  return Array.from({ length: n }, () => {
    const rgba = new Uint8Array(size * size * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i & 3) === 3 ? 255 : Math.floor(rng.next() * 256);
    return { rgba, size };
  });
}

async function measure(
  backend: TfBackendName,
  cfg: AutoencoderConfig,
  batch: number,
  threads: number,
): Promise<Record<string, number | string>> {
  const { tf } = await loadTf({ backend });
  const model = buildAutoencoder(tf, cfg, 1);
  const mode = adamModeFor(backend);
  const split = backend === 'wasm' && model.flopsPerFace > SPLIT_SIDES_FLOPS;
  const adam = new Adam(tf, model.params.vars, { learningRate: 5e-5, ...ADAM_DEFAULTS }, mode);
  const faces = synthFaces(Math.ceil(cfg.size / 0.75 / 2) * 2, 8);
  const rng = new Rng(2);
  const aug = { outSize: cfg.size, coverage: 0.75, warp: true, flip: true, transform: true, color: false };
  const next = () => makeBatch(faces, batch, aug, rng, cfg.mask, () => rng.int(faces.length));
  const pool =
    threads > 1
      ? await GradientPool.start({
          threads,
          shares: threads,
          config: cfg,
          backend,
          seed: 1,
          loss: 'mae',
          adam: adam.config,
          splitSides: split,
          model,
          optimizer: adam,
        })
      : null;
  const step = async (a: Batch, b: Batch) => {
    if (pool) await pool.step(a, b);
    else await trainStepAsync(tf, model, adam, { a, b, loss: 'mae', splitSides: split });
  };
  try {
    let prepMs = 0;
    const t0 = performance.now();
    await step(next(), next()); // warm-up (kernel setup, shader compile)
    const warm = (performance.now() - t0) / 1000;
    let n = 0;
    let stepS = 0;
    let cpuUs = 0;
    const start = performance.now();
    const minIterations = warm > secondsPerPoint ? 1 : 2; // very slow points (cpu, big models): one timed step
    while (n < minIterations || (performance.now() - start) / 1000 < secondsPerPoint) {
      const p0 = performance.now();
      const a = next();
      const b = next();
      const p1 = performance.now();
      const c0 = process.cpuUsage();
      await step(a, b);
      const c = process.cpuUsage(c0);
      cpuUs += c.user + c.system;
      prepMs += p1 - p0;
      stepS += (performance.now() - p1) / 1000;
      n++;
      if (warm * (n + 1) > secondsPerPoint * 6) break; // very slow points: keep it bounded
    }
    const sPerIt = stepS / n;
    return {
      secondsPerIteration: +sPerIt.toFixed(3),
      egs: +((2 * batch) / sPerIt).toFixed(2),
      gflops: +((3 * model.flopsPerFace * 2 * batch) / sPerIt / 1e9).toFixed(2),
      iterations: n,
      // CPU time of the whole process (every thread) per step: on a busy machine, where wall time says little,
      // one thread vs N at about equal CPU seconds means the work split without overhead.
      cpuSecondsPerIteration: +(cpuUs / 1e6 / n).toFixed(3),
      // Cores kept busy during the step (CPU seconds / wall seconds): with N workers, N minus this is the time
      // they waited for each other (the slowest share, the round trips) or for other threads.
      coresBusy: +(cpuUs / 1e6 / stepS).toFixed(2),
      warmupSeconds: +warm.toFixed(2),
      batchPrepMsPerIteration: +(prepMs / n).toFixed(1),
      adam: mode,
      splitSides: split ? 1 : 0,
      threads,
    };
  } finally {
    await pool?.close();
    adam.dispose();
    model.dispose();
  }
}

/** Runs one point in a child process (fresh wasm heap, fresh GPU device); returns its numbers. */
function measureIsolated(
  backend: TfBackendName,
  trainer: string,
  batch: number,
  threads: number,
): Promise<Record<string, number | string>> {
  return new Promise((resolve, reject) => {
    const self = fileURLToPath(import.meta.url);
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', self, CHILD_FLAG, backend, trainer, String(batch), String(threads)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, FSS_BENCH_CHILD: '1' },
      },
    );
    let out = '';
    let err = '';
    // The pure-JS cpu backend needs many minutes for one step of even the small model: give up after a while.
    const limitS = backend === 'cpu' ? Number(process.env.FSS_BENCH_CPU_LIMIT ?? 240) : 1200;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      p.kill('SIGKILL');
    }, limitS * 1000);
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      clearTimeout(timer);
      const line = out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .pop();
      if (code === 0 && line) resolve(JSON.parse(line) as Record<string, number | string>);
      else if (timedOut) resolve({ error: `no training step finished within ${limitS} s` });
      else {
        const why =
          err
            .split('\n')
            .filter((l) => /Error|Abort|out of bounds/.test(l))
            .pop() ?? `exit code ${code}`;
        resolve({ error: why.trim().slice(0, 300) });
      }
    });
  });
}

const CHILD_FLAG = '--train-bench-child';
const byName = new Map(configs.map((c) => [c.name, c]));

async function makeBenches(): Promise<Bench[]> {
  const { probes } = await availableBackends();
  const present = probes.filter((p) => p.available && (!onlyBackends || onlyBackends.includes(p.name)));
  const out: Bench[] = [];
  for (const p of present) {
    for (const cfg of configs) {
      if (onlyTrainers && !onlyTrainers.includes(cfg.name)) continue;
      if (p.name === 'cpu' && cfg.name !== 'lightweight') continue;
      if (p.name === 'wasm' && cfg.name === 'sae') continue; // GPU-sized: minutes per step on a CPU
      out.push({
        name: `train.${cfg.name}.${p.name}`,
        description: `${cfg.name} (${cfg.size} px) training on ${p.name}${p.detail ? ` (${p.detail})` : ''}: EGs/s and GFLOP/s at batch 8 and 16, one thread and every core`,
        async run() {
          const r: Record<string, unknown> = {
            backend: p.name,
            gpu: p.gpu ?? null,
            forwardGflopPerFace: +(forwardFlops(cfg) / 1e9).toFixed(3),
          };
          // cpu (pure JS) only at batch 8, one thread: one point takes minutes there. GPU backends: one thread.
          const cpuBackend = p.name === 'wasm' || p.name === 'cpu';
          for (const threads of p.name === 'wasm' ? threadCounts : [1]) {
            const points: Record<string, unknown> = {};
            for (const batch of p.name === 'cpu' ? [8] : batches)
              points[`batch${batch}`] = await measureIsolated(p.name, cfg.name, batch, threads);
            r[cpuBackend ? `threads${threads}` : 'threads1'] = points;
          }
          const egs16 = (t: number) => (r[`threads${t}`] as Record<string, { egs?: number }> | undefined)?.batch16?.egs;
          const all = Math.max(...threadCounts);
          const one = egs16(1);
          const many = egs16(all);
          if (all > 1 && one && many) r.speedup16 = +(many / one).toFixed(2);
          return r;
        },
      });
    }
  }
  return out;
}

const childArgs = process.argv.indexOf(CHILD_FLAG);
if (childArgs >= 0) {
  const [backend, trainer, batch, threads] = process.argv.slice(childArgs + 1);
  const cfg = byName.get(trainer ?? '');
  if (!cfg) throw new Error(`unknown trainer ${trainer}`);
  const r = await measure(backend as TfBackendName, cfg, Number(batch), Number(threads ?? 1));
  process.stdout.write(`${JSON.stringify(r)}\n`);
  process.exit(0);
}

export const benches: Bench[] = process.env.FSS_BENCH_CHILD ? [] : await makeBenches();
