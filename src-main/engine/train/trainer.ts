/**
 * The training loop, run in whichever thread calls it (runTrain puts it in a worker). Each iteration trains A
 * and B together on the shared encoder (the classic faceswap step), with Adam; saves every `saveEvery`, keeps
 * snapshots, writes previews, stops cleanly on request (finishing the step and saving), and on a NaN loss stops
 * and restores the last good save.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';
import { UserError } from '../../../src-shared/errors';
import type { LogLevel, PreviewEvent, Progress } from '../../../src-shared/progress';
import { RateMeter } from '../../../src-shared/progress';
import type { TrainOptions } from '../../../src-shared/stages/train';
import { writeFileAtomicSafe } from '../util/atomic-write';
import { loadTf, type TfBackendName } from '../tf/backend';
import { Adam } from './adam';
import { centreCrop, type AugmentOptions, type Batch, type CachedFace } from './augment';
import { inlineFeeder, workerFeeder, type BatchFeeder } from './feeder';
import { cacheSizeFor, linkPartners, listFaces, loadFaces } from './data';
import { batchLoss, parseLossSpec } from './loss';
import { hasModel, importWeights, readModelFiles, saveModel, snapshotModel, type StateFields } from './model-io';
import { buildAutoencoder, modelOptions, trainerConfig, type FaceModel } from './models/index';
import type { GradShare, ShareLoss } from './grad-worker';
import { combineLosses, GradientPool, gradientShares, shareBatches, shareSpecs, trainThreads } from './parallel';
import { previewPng, type PreviewFaces } from './preview';
import { previewDue } from './schedule';

type Tf = typeof TfCore;

export type { PreviewEvent } from '../../../src-shared/progress';

export interface TrainHooks {
  progress(p: Progress): void;
  log(level: LogLevel, message: string): void;
  preview?(e: PreviewEvent): void;
  /** Polled after every step: true finishes the step, saves and returns. */
  shouldStop(): boolean;
  /** Polled after every step: true saves now (the user's "Save now"); the flag is the caller's to reset. */
  takeSaveRequest?(): boolean;
  /** Polled after every step: true writes the preview grid now (the user's "Preview now"); the caller resets it. */
  takePreviewRequest?(): boolean;
  /** Tests only: make the loss of this iteration NaN. */
  nanAt?: number;
  /**
   * Tests only: train the trainer's network at this face size (a multiple of 16, same layers and widths; not for
   * sae), so a run on a slow software GPU fits in a test.
   */
  faceSize?: number;
  /** Tests only: cut each batch into this many gradient shares (default: parallel.ts gradientShares). */
  gradientShares?: number;
  /** Prepare batches on the training thread instead of the feeder thread. */
  inlineBatches?: boolean;
}

export interface TrainResult {
  trainer: string;
  backend: TfBackendName;
  modelDir: string;
  startIteration: number;
  iteration: number;
  lossA: number;
  lossB: number;
  /** Mean EGs/s of this session (faces per second, both sides). */
  egs: number;
  previewPath?: string;
  stopped: boolean;
  resumed: boolean;
  facesA: number;
  facesB: number;
  adamMode: 'device' | 'host';
  /** Threads that computed gradients (gradient workers on the CPU backends, else 1). */
  threads: number;
}

export const ADAM_DEFAULTS = { beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };
/**
 * Where Adam keeps its state: on the CPU backends in JS memory (host), which keeps the 32-bit wasm heap free for
 * the big models, is faster than tfjs-wasm's element-wise kernels (lightweight: 51 vs 61 ms per update), and is
 * the same arithmetic the gradient workers run on their shares of the parameters (parallel.ts); on the GPU
 * backends as tensors on the device.
 */
export function adamModeFor(backend: TfBackendName): 'device' | 'host' {
  return backend === 'wasm' || backend === 'cpu' ? 'host' : 'device';
}
/** Above this many forward FLOPs per face the wasm backend computes the A and B gradients separately. */
export const SPLIT_SIDES_FLOPS = 1e9;

const yieldToEvents = () => new Promise<void>((r) => setImmediate(r));

/** Picks `n` faces spread over the set (fixed across sessions for the same folder). */
function fixedFaces(faces: readonly CachedFace[], n: number): CachedFace[] {
  const k = Math.min(n, faces.length);
  return Array.from({ length: k }, (_, i) => faces[Math.floor((i * faces.length) / k)] as CachedFace);
}

export async function trainLoop(options: TrainOptions, hooks: TrainHooks): Promise<TrainResult> {
  const modelDir = resolve(options.modelDir);
  const report = (title: string, fraction: number, extra: Partial<Progress> = {}) =>
    hooks.progress({ stage: 'train', title, fraction, ...extra });
  report('Loading faces', 0);
  const [filesA, filesB] = await Promise.all([listFaces(options.inputA), listFaces(options.inputB)]);
  const existing = (await hasModel(modelDir)) ? await readModelFiles(modelDir) : null;
  // A resumed model keeps the network it was made with (the sae widths are in its saved options).
  const saved = existing?.state.trainer === options.trainer ? existing.state.options : undefined;
  const base = trainerConfig(options.trainer, saved ?? options);
  const cfg = hooks.faceSize && !base.sae ? { ...base, size: hooks.faceSize, latent: hooks.faceSize / 16 } : base;
  if (existing && existing.state.trainer !== cfg.name) {
    throw new UserError(
      'mismatch',
      `${join(modelDir, 'state.json')}: the model is '${existing.state.trainer}', not '${cfg.name}' (use -t ${existing.state.trainer} or another folder)`,
      modelDir,
    );
  }
  const coverage = existing?.state.coverage ?? options.coverage;
  const cacheSize = cacheSizeFor(cfg.size, coverage);
  try {
    parseLossSpec(options.loss ?? 'mae');
  } catch (e) {
    throw new UserError('bad-option', `--loss ${e instanceof Error ? e.message : String(e)}`);
  }
  const regionWeights = { eyes: options.eyeMultiplier, mouth: options.mouthMultiplier };
  const regions = regionWeights.eyes > 1 || regionWeights.mouth > 1;
  const extras = { regions, landmarks: options.warpToLandmarks };
  const [facesA, facesB] = await Promise.all([
    loadFaces(filesA, cacheSize, undefined, extras),
    loadFaces(filesB, cacheSize, undefined, extras),
  ]);
  if (options.warpToLandmarks) linkPartners(facesA, facesB);
  hooks.log('info', `faces: ${facesA.length} A, ${facesB.length} B (cached at ${cacheSize} px)`);
  if (regions) {
    const without = [...facesA, ...facesB].filter((f) => !f.eyes).length;
    if (without > 0) hooks.log('warn', `${without} faces carry no landmarks: no eye or mouth weight on them`);
  }

  const loaded = await loadTf({ backend: options.backend, purpose: 'train' });
  const tf = loaded.tf;
  hooks.log(
    'info',
    `tfjs backend: ${loaded.backend}${loaded.gpu ? ` on ${loaded.gpu}` : ''} (available: ${loaded.available.join(', ')})`,
  );
  const seed = existing?.state.seed ?? options.seed ?? (Math.random() * 2 ** 31) >>> 0;
  const model = buildAutoencoder(tf, cfg, seed);
  const nParams = model.params.count();
  const adamMode = adamModeFor(loaded.backend);
  // Big models on wasm: A and B gradients one after the other (half the activation memory).
  const splitSides = loaded.backend === 'wasm' && model.flopsPerFace > SPLIT_SIDES_FLOPS;
  let adam: Adam | null = null;
  const lossA: number[] = existing ? [...existing.state.lossA] : [];
  const lossB: number[] = existing ? [...existing.state.lossB] : [];
  let iteration = existing?.state.iteration ?? 0;
  const startIteration = iteration;
  let trainSeconds = existing?.state.trainSeconds ?? 0;
  const sessionStart = performance.now();
  let previewPath: string | undefined;
  let stopped = false;
  let lastSaved = iteration;
  let feeder: BatchFeeder | null = null;
  let pool: GradientPool | null = null;
  const threads = trainThreads(options.threads, loaded.backend, nParams);
  // The CPU backends cut each batch into the same shares whatever the thread count (exact N-thread = 1-thread).
  const shares = adamMode === 'host' ? (hooks.gradientShares ?? gradientShares(options.batchSize, threads)) : 1;
  const schedule = {
    warmup: options.learningRateWarmup,
    kind: options.learningRateSchedule,
    total: options.iterations,
    floor: 0.1,
  };
  const adamCfg = { learningRate: options.learningRate, ...ADAM_DEFAULTS, schedule };
  try {
    if (existing) {
      importWeights(model, existing.state.tensors, existing.weights, existing.weightsFile);
      hooks.log(
        'info',
        `resuming ${cfg.name} at iteration ${iteration} (${existing.from === 'backup' ? 'from the backup save' : 'last save'})`,
      );
    }
    adam = new Adam(tf, model.params.vars, adamCfg, adamMode);
    if (existing?.optimizer) adam.importMoments(existing.optimizer, existing.state.optimizer.step);
    else if (existing) hooks.log('warn', 'optimizer state missing: Adam restarts from zero');
    hooks.log(
      'info',
      `${cfg.name}: ${(nParams / 1e6).toFixed(2)} M parameters, ${((model.flopsPerFace * 3) / 1e9).toFixed(2)} GFLOP per face per training step, Adam on ${adamMode}`,
    );
    if (threads > 1) {
      pool = await GradientPool.start({
        threads,
        shares,
        config: cfg,
        backend: loaded.backend,
        seed,
        loss: options.loss,
        adam: adamCfg,
        splitSides,
        model,
        optimizer: adam,
      });
    }
    hooks.log('info', `training on ${threads} thread${threads > 1 ? 's (gradient workers)' : ''}`);

    const stateFields = (): StateFields => ({
      trainer: cfg.name,
      inputSize: cfg.size,
      outputSize: cfg.size,
      hasMask: cfg.mask,
      coverage,
      seed,
      iteration,
      lossA,
      lossB,
      optimizer: { name: 'adam' as const, ...adamCfg },
      options: { ...options, ...modelOptions(cfg) },
      backend: loaded.backend,
      trainSeconds: trainSeconds + (performance.now() - sessionStart) / 1000,
    });
    const save = async () => {
      if (!adam) return;
      await pool?.pull(tf, model, adam);
      await saveModel(modelDir, model, adam, stateFields());
      lastSaved = iteration;
      hooks.log('debug', `saved at iteration ${iteration}`);
    };

    const previewN = Math.min(4, facesA.length, facesB.length);
    const crop = (faces: CachedFace[]) => {
      const out = new Float32Array(faces.length * cfg.size * cfg.size * 3);
      faces.forEach((f, i) => out.set(centreCrop(f, cfg.size, coverage).rgb, i * cfg.size * cfg.size * 3));
      return out;
    };
    const pf: PreviewFaces = {
      a: crop(fixedFaces(facesA, previewN)),
      b: crop(fixedFaces(facesB, previewN)),
      n: previewN,
      size: cfg.size,
    };
    const previewDir = resolve(options.previewDir ?? modelDir);
    // Previews by iteration, by time (--preview-every-seconds) and on request; the time counts from the start.
    const previewPlan = { every: options.previewEvery, everySeconds: options.previewEverySeconds };
    let lastPreviewMs = performance.now();
    let lastPreviewIteration = -1;
    const writePreview = async () => {
      lastPreviewMs = performance.now();
      lastPreviewIteration = iteration;
      await pool?.pull(tf, model);
      const png = await previewPng(tf, model, pf);
      await mkdir(previewDir, { recursive: true });
      previewPath = join(previewDir, 'preview.png');
      await writeFileAtomicSafe(previewPath, png, { fsync: false });
      if (options.timelapse) {
        await mkdir(options.timelapse, { recursive: true });
        await writeFileAtomicSafe(join(options.timelapse, `${String(iteration).padStart(8, '0')}.png`), png, {
          fsync: false,
        });
      }
      hooks.preview?.({ kind: 'train-grid', path: previewPath, iteration });
    };

    const aug: AugmentOptions = {
      outSize: cfg.size,
      coverage,
      warp: options.warp,
      flip: options.flip,
      transform: true,
      color: options.colorAugment,
      ...(regions ? { regionWeights } : {}),
      maskLoss: options.maskLoss,
      warpToLandmarks: options.warpToLandmarks,
    };
    const bs = options.batchSize;
    // Batches depend only on (seed, iteration): resume continues the exact sequence. Prepared one iteration
    // ahead in the feeder thread; inline if that thread cannot start.
    const plan = { seed, batchSize: bs, aug, withMask: cfg.mask };
    feeder = hooks.inlineBatches ? inlineFeeder(facesA, facesB, plan) : workerFeeder(facesA, facesB, plan);
    const nextBatches = async (): Promise<[Batch, Batch]> => {
      try {
        return await (feeder as BatchFeeder).get(iteration);
      } catch (e) {
        if (!feeder?.threaded) throw e;
        hooks.log(
          'warn',
          `batch feeder thread failed (${e instanceof Error ? e.message : String(e)}); preparing batches inline`,
        );
        await feeder.close().catch(() => undefined);
        feeder = inlineFeeder(facesA, facesB, plan);
        return feeder.get(iteration);
      }
    };

    const meter = new RateMeter(10_000);
    meter.update(iteration, performance.now());
    const total = options.iterations;
    let egs = 0;
    let stepSeconds = 0;
    let steps = 0;
    report('Training', 0, { done: iteration, total });
    while (iteration < total) {
      const [ba, bb] = await nextBatches();
      const t0 = performance.now();
      const poison = hooks.nanAt === iteration + 1;
      const stepInput = { a: ba, b: bb, loss: options.loss, poison, splitSides };
      const [la, lb] = pool
        ? await pool.step(ba, bb, poison)
        : shares > 1
          ? await trainStepShares(tf, model, adam, { ...stepInput, shares })
          : await trainStepAsync(tf, model, adam, stepInput);
      const dt = (performance.now() - t0) / 1000;
      stepSeconds += dt;
      steps++;
      iteration++;
      if (!Number.isFinite(la) || !Number.isFinite(lb)) {
        // Restore the last good save (the files on disk are untouched) and stop.
        let restored = 'no save yet: the model folder is unchanged';
        if (await hasModel(modelDir)) {
          const good = await readModelFiles(modelDir);
          importWeights(model, good.state.tensors, good.weights, good.weightsFile);
          if (good.optimizer) adam.importMoments(good.optimizer, good.state.optimizer.step);
          restored = `restored the save of iteration ${good.state.iteration}`;
        }
        throw new UserError(
          'bad-option',
          `loss became NaN at iteration ${iteration}; ${restored}; try a lower --learning-rate`,
        );
      }
      lossA.push(Math.fround(la));
      lossB.push(Math.fround(lb));
      const rate = meter.update(iteration, performance.now());
      egs = rate > 0 ? rate * 2 * bs : (2 * bs) / dt;
      report('Training', Math.min(1, (iteration - startIteration) / Math.max(1, total - startIteration)), {
        detail: `iteration ${iteration}: loss A ${la.toFixed(5)}, loss B ${lb.toFixed(5)}, ${egs.toFixed(1)} EGs/s`,
        done: iteration,
        total,
        rate: egs,
        rateUnit: 'EGs/s',
        ...(meter.etaMs(total - iteration) !== undefined ? { etaMs: meter.etaMs(total - iteration) as number } : {}),
        metrics: { iteration, lossA: la, lossB: lb, egs, threads },
      });
      // Taken every step, so a request that coincides with a regular save is not carried to the next step.
      const saveRequested = hooks.takeSaveRequest?.() ?? false;
      if (iteration % options.saveEvery === 0 || saveRequested) await save();
      if (options.snapshotEvery > 0 && iteration % options.snapshotEvery === 0) {
        if (lastSaved !== iteration) await save();
        const to = await snapshotModel(modelDir, iteration);
        hooks.log('info', `snapshot ${to}`);
      }
      const previewRequested = hooks.takePreviewRequest?.() ?? false;
      if (previewDue(previewPlan, iteration, performance.now(), lastPreviewMs, previewRequested)) await writePreview();
      await yieldToEvents();
      if (hooks.shouldStop()) {
        stopped = true;
        break;
      }
    }
    if (lastSaved !== iteration || !(await hasModel(modelDir))) await save();
    if (lastPreviewIteration !== iteration && (options.previewEvery > 0 || options.previewEverySeconds > 0))
      await writePreview();
    trainSeconds += (performance.now() - sessionStart) / 1000;
    // Stops the gradient workers; throws if one leaked tensors.
    const closing = pool;
    pool = null;
    await closing?.close();
    const meanEgs = stepSeconds > 0 ? (2 * bs * steps) / stepSeconds : 0;
    report(stopped ? 'Stopped' : 'Done', 1, {
      done: iteration,
      total,
      metrics: { iteration, lossA: lossA.at(-1) ?? NaN, lossB: lossB.at(-1) ?? NaN, egs: meanEgs, threads },
    });
    void egs;
    return {
      trainer: cfg.name,
      backend: loaded.backend,
      modelDir,
      startIteration,
      iteration,
      lossA: lossA.at(-1) ?? NaN,
      lossB: lossB.at(-1) ?? NaN,
      egs: meanEgs,
      ...(previewPath ? { previewPath } : {}),
      stopped,
      resumed: existing !== null,
      facesA: facesA.length,
      facesB: facesB.length,
      adamMode,
      threads,
    };
  } finally {
    await feeder?.close().catch(() => undefined);
    await pool?.close().catch(() => undefined);
    adam?.dispose();
    model.dispose();
  }
}

/**
 * One training step on both sides; returns the two losses. Leaves no tensor behind. Reads synchronously: CPU
 * backends only (tests, the bench); the training loop uses trainStepAsync.
 */
export function trainStep(
  tf: Tf,
  model: FaceModel,
  adam: Adam,
  a: Batch,
  b: Batch,
  loss: TrainOptions['loss'],
  poison = false,
  splitSides = false,
): [number, number] {
  const g = batchGradients(tf, model, a, b, loss, { poison, splitSides });
  try {
    if (!Number.isFinite(g.lossA) || !Number.isFinite(g.lossB)) return [NaN, NaN];
    adam.apply(g.grads);
    return [g.lossA, g.lossB];
  } finally {
    tf.dispose(g.grads);
  }
}

/** One step's batch pair and how to train on it (trainStepAsync, trainStepShares). */
interface StepInput {
  a: Batch;
  b: Batch;
  loss: TrainOptions['loss'];
  /** Tests only: make the losses NaN. */
  poison?: boolean;
  /** A and B gradients one after the other (big models on wasm). */
  splitSides?: boolean;
}

/**
 * trainStep with one asynchronous read per step (every backend; webgpu cannot read synchronously under Node):
 * the two losses and, when Adam keeps its state on the host, the gradients, read back together.
 */
export async function trainStepAsync(tf: Tf, model: FaceModel, adam: Adam, s: StepInput): Promise<[number, number]> {
  const poison = s.poison ?? false;
  const t = gradientTensors(tf, model, s);
  try {
    const [losses, ...host] = (await Promise.all([
      t.losses.data(),
      ...(adam.mode === 'host' ? t.grads.map((g) => g.data()) : []),
    ])) as Float32Array[];
    const [la, lb] = lossValues(losses as Float32Array, poison);
    if (!Number.isFinite(la) || !Number.isFinite(lb)) return [NaN, NaN];
    adam.apply(t.grads, adam.mode === 'host' ? host : undefined);
    return [la, lb];
  } finally {
    tf.dispose([t.losses, ...t.grads]);
  }
}

/**
 * One step on one thread with the batch cut into `shares` shares (CPU backends, Adam on the host): each share's
 * gradient computed and read in turn and added in float64 in share order, exactly what N gradient workers compute
 * for the same shares (parallel.ts), so one thread and N threads train the same bit for bit.
 */
export async function trainStepShares(
  tf: Tf,
  model: FaceModel,
  adam: Adam,
  input: StepInput & { shares: number },
): Promise<[number, number]> {
  const { a, b, loss, shares, poison = false, splitSides = false } = input;
  const vars = [...model.params.vars.values()];
  const acc = new Float64Array(vars.reduce((n, v) => n + v.size, 0));
  const losses: ShareLoss[] = [];
  for (const [k, spec] of shareSpecs(a.n, shares).entries()) {
    const share = shareBatches(a, b, spec);
    const t = gradientTensors(tf, model, { ...share, loss, poison, splitSides });
    try {
      const [l, ...values] = (await Promise.all([t.losses.data(), ...t.grads.map((g) => g.data())])) as Float32Array[];
      const sl = shareLoss(share, l as Float32Array, poison);
      losses.push(sl);
      if (!Number.isFinite(sl.lossA ?? 0) || !Number.isFinite(sl.lossB ?? 0)) return [NaN, NaN];
      let o = 0;
      for (const x of values) {
        if (k === 0) acc.set(x, o);
        else for (let j = 0; j < x.length; j++) acc[o + j] = (acc[o + j] as number) + (x[j] as number);
        o += x.length;
      }
    } finally {
      tf.dispose([t.losses, ...t.grads]);
    }
  }
  const [la, lb] = combineLosses(losses);
  if (!Number.isFinite(la) || !Number.isFinite(lb)) return [NaN, NaN];
  const sum = Float32Array.from(acc);
  let o = 0;
  const views = vars.map((v) => {
    const x = sum.subarray(o, o + v.size);
    o += v.size;
    return x;
  });
  adam.apply([], views);
  return [la, lb];
}

export interface BatchGradients {
  /** The unweighted mean losses of the two sides over this batch. */
  lossA: number;
  lossB: number;
  /** d(weight x (lossA + lossB)) / d(variable), in variable order; the caller disposes them. Empty on NaN. */
  grads: TfCore.Tensor[];
}

export interface GradientTensors {
  /** [lossA, lossB], unweighted means over this batch (not read back yet). */
  losses: TfCore.Tensor1D;
  /** d(weight x (lossA + lossB)) / d(variable), in variable order. */
  grads: TfCore.Tensor[];
}

function lossValues(losses: ArrayLike<number>, poison: boolean): [number, number] {
  return poison ? [NaN, NaN] : [losses[0] ?? NaN, losses[1] ?? NaN];
}

/** A share's losses as read back from gradientTensors' `losses` (only the sides it holds). */
export function shareLoss(share: GradShare, losses: ArrayLike<number>, poison: boolean): ShareLoss {
  const [lossA, lossB] = lossValues(losses, poison);
  return { ...(share.a ? { lossA } : {}), ...(share.b ? { lossB } : {}), weight: share.weight };
}

function settle(tf: Tf, t: GradientTensors, losses: ArrayLike<number>, poison: boolean): BatchGradients {
  tf.dispose(t.losses);
  const [lossA, lossB] = lossValues(losses, poison);
  if (!Number.isFinite(lossA) || !Number.isFinite(lossB)) {
    tf.dispose(t.grads);
    return { lossA: NaN, lossB: NaN, grads: [] };
  }
  return { lossA, lossB, grads: t.grads };
}

/**
 * The gradients of one batch pair (or of one worker's share of it, scaled by `weight` = share / global batch,
 * so the shares' gradients sum to the global batch's). Leaves no tensor behind but the returned gradients.
 * Reads synchronously (CPU backends); the training loop reads gradientTensors' results asynchronously.
 */
export function batchGradients(
  tf: Tf,
  model: FaceModel,
  a: Batch,
  b: Batch,
  loss: TrainOptions['loss'],
  opts: { weight?: number; poison?: boolean; splitSides?: boolean } = {},
): BatchGradients {
  const t = gradientTensors(tf, model, { a, b, loss, ...opts });
  return settle(tf, t, t.losses.dataSync(), opts.poison ?? false);
}

/**
 * The losses and gradients of one batch pair as tensors, nothing read back (so each caller reads once, in the
 * way its backend allows). Leaves no tensor behind but the returned ones.
 */
export function gradientTensors(
  tf: Tf,
  model: FaceModel,
  s: Omit<StepInput, 'a' | 'b'> & {
    /** The samples of either side or both (a share of side A alone leaves decoder B's gradients at zero). */
    a?: Batch;
    b?: Batch;
    /** share / global batch (1: the whole batch). */
    weight?: number;
  },
): GradientTensors {
  const { a, b, loss, weight = 1, splitSides = false } = s;
  if (!a && !b) throw new Error('gradientTensors: a share holds no samples');
  const vars = [...model.params.vars.values()];
  const S = model.config.size;
  const scaled = (l: TfCore.Scalar) => (weight === 1 ? l : (tf.mul(l, weight) as TfCore.Scalar));
  const sideLoss = (side: 'a' | 'b', batch: Batch) => {
    const x = tf.tensor4d(batch.input, [batch.n, S, S, 3]);
    const y = tf.tensor4d(batch.target, [batch.n, S, S, 3]);
    const out = model.forward(x, side);
    let l = batchLoss(tf, loss, out.face, y, batch);
    if (out.mask && batch.mask) {
      const m = tf.tensor4d(batch.mask, [batch.n, S, S, 1]);
      l = tf.add(l, tf.mean(tf.square(tf.sub(out.mask, m))));
    }
    return l;
  };
  if (splitSides) {
    // One side at a time: half the activation memory (the wasm heap is 32-bit), gradients summed.
    let la: TfCore.Scalar | null = null;
    let lb: TfCore.Scalar | null = null;
    let ga: ReturnType<typeof tf.variableGrads> | null = null;
    let gb: ReturnType<typeof tf.variableGrads> | null = null;
    // One side's gradients returned as they are (no copy: a decoder's, 6 M floats in Original's), not disposed.
    const kept = new Set<TfCore.Tensor>();
    /** One side's gradients, its unweighted loss kept in `keep`. */
    const sideGrads = (side: 'a' | 'b', batch: Batch, keep: (l: TfCore.Scalar) => void) =>
      tf.variableGrads(() => {
        const l = sideLoss(side, batch);
        keep(tf.keep(l));
        return scaled(l);
      }, vars);
    try {
      if (a) ga = sideGrads('a', a, (l) => (la = l));
      if (b) gb = sideGrads('b', b, (l) => (lb = l));
      const [x, y] = [ga, gb];
      // Each decoder only gets a gradient from its own side; the shared encoder from both.
      const grads = vars.map((v) => {
        const p = x?.grads[v.name] ?? null;
        const q = y?.grads[v.name] ?? null;
        if (p && q) return tf.add(p, q);
        const one = p ?? q;
        if (!one) return tf.zerosLike(v);
        kept.add(one);
        return one;
      });
      return { losses: stackLosses(tf, la, lb), grads };
    } finally {
      for (const g of [ga, gb]) if (g) tf.dispose([g.value, ...Object.values(g.grads).filter((t) => !kept.has(t))]);
      tf.dispose([...(la ? [la] : []), ...(lb ? [lb] : [])]);
    }
  }
  let la: TfCore.Scalar | null = null;
  let lb: TfCore.Scalar | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const l1 = a ? sideLoss('a', a) : null;
    const l2 = b ? sideLoss('b', b) : null;
    if (l1) la = tf.keep(l1);
    if (l2) lb = tf.keep(l2);
    return scaled(l1 && l2 ? (tf.add(l1, l2) as TfCore.Scalar) : ((l1 ?? l2) as TfCore.Scalar));
  }, vars);
  const losses = stackLosses(tf, la, lb);
  tf.dispose([value, ...(la ? [la] : []), ...(lb ? [lb] : [])]);
  // One side's share does not reach the other side's decoder: its gradient there is zero.
  return { losses, grads: vars.map((v) => grads[v.name] ?? tf.zerosLike(v)) };
}

/** [lossA, lossB] as one tensor, 0 for a side the share does not hold. */
function stackLosses(tf: Tf, la: TfCore.Scalar | null, lb: TfCore.Scalar | null): TfCore.Tensor1D {
  return tf.tidy(() => tf.stack([la ?? tf.scalar(0), lb ?? tf.scalar(0)]) as TfCore.Tensor1D);
}
