/**
 * What the studio proposes for training on this machine (issue 12, "time to a result"): trainer, batch, learning
 * rate and loss from the machine's facts (the doctor report: cores, the backend training would use, the GPU; and
 * measured training rates where the bench or a running job has them), and an estimate of the time to a
 * recognisable swap: the examples the quality curve needs over the EGs/s measured on this machine. Pure (no Node,
 * no DOM): the Train view and the tests call it.
 */
import type { DoctorReport } from './doctor';
import type { TrainerName } from './stages/train';

/** The rate and loss measured best for a young model (docs/quality.md, "Choosing the defaults"). */
export const MEASURED_LEARNING_RATE = 3e-4;
export const MEASURED_LOSS = 'mae+ssim';

export interface MachineFacts {
  /** Logical cores. */
  cpus: number;
  /** The backend training picks under `--backend auto` (doctor's `tfjs.chosen`). */
  backend?: string;
  /** A hardware GPU's name, when a GPU backend works (doctor's `tfjs.gpu`). */
  gpu?: string;
}

/** A training rate measured on this machine: a running job's, or the bench's (`train.<trainer>.<backend>`). */
export interface MeasuredRate {
  trainer: string;
  /** EGs/s: faces per second, both sides. */
  egs: number;
  /** Where it comes from, in words ("this run", "a training job of 2026-12-01, wasm, 2 threads"). */
  source: string;
  /** The backend it was measured on; a rate of another backend than the one training would use is not planned with. */
  backend?: string;
}

export interface TrainProposal {
  trainer: TrainerName;
  batchSize: number;
  learningRate: number;
  loss: string;
  /** 0 = every core. */
  threads: number;
  /** A preview by time: on a CPU an iteration interval is minutes. */
  previewEverySeconds: number;
  /** The options the proposal sets (what "Apply" writes into the form). */
  options: Record<string, unknown>;
  /** Why, in one line. */
  reason: string;
}

/**
 * The examples (faces, both sides) a trainer needs to a recognisable swap, and where the figure comes from.
 * Only `lightweight` has one, measured by `npm run bench -- quality.time` (docs/quality.md, "Quality against
 * time"): the quick pair from scratch at the CPU proposal (lr 3e-4, mae+ssim, batch 16, seed 7), person A's
 * clip converted and reported at 10, 20, 40 and 60 minutes. "Recognisable" is the report's retrieval to B of at
 * least 0.5 (more frames read as B than as A): 0.06 at iteration 732, 0.60 at iteration 1482 (1482 x 16 x 2
 * faces); the full "reads as B" (retrieval 0.8, margin 0.1) was not reached in the hour (0.70 / 0.045 at 4435).
 */
export const RECOGNISABLE: Partial<Record<TrainerName, { examples: number; source: string }>> = {
  lightweight: {
    examples: 1482 * 16 * 2,
    source: 'the quality bench (lr 3e-4, mae+ssim, batch 16): retrieval to B 0.60 at iteration 1482',
  },
};

/**
 * The reference training rate when nothing was measured on this machine: lightweight on wasm, 40.4 EGs/s on a
 * quiet 2-core machine with 2 gradient workers (1.60x one thread; docs/performance.md), so 25.3 EGs/s on one
 * core and +0.6 of that per added core.
 */
export const REFERENCE_RATE: Partial<
  Record<TrainerName, { egsOneCore: number; perAddedCore: number; source: string }>
> = {
  lightweight: {
    egsOneCore: 40.4 / 1.6,
    perAddedCore: 0.6,
    source: 'the reference 2-core machine (docs/performance.md: 40.4 EGs/s), scaled by cores',
  },
};

export function machineFacts(r: Pick<DoctorReport, 'platform' | 'tfjs'>): MachineFacts {
  return {
    cpus: r.platform.cpus,
    ...(r.tfjs.chosen ? { backend: r.tfjs.chosen } : {}),
    ...(r.tfjs.gpu ? { gpu: r.tfjs.gpu } : {}),
  };
}

/** Whether training runs on a GPU here: the tensorflow provider with a GPU named, or a hardware webgpu. */
export function trainsOnGpu(f: MachineFacts): boolean {
  return f.gpu !== undefined && (f.backend === 'tensorflow' || f.backend === 'webgpu');
}

/**
 * The proposal. On a CPU: `lightweight` (the only trainer with a measured curve to a recognisable swap on a CPU)
 * at the measured defaults (lr 3e-4, mae+ssim), on every core, batch 16 or 2 faces per gradient worker and side
 * when there are more than 8 cores (each worker computes its share of the batch), a preview every 2 minutes.
 * On a GPU: `sae` at its gpu preset (DeepFaceLab SAEHD's widths), batch 8 (trainers.md), DFL's rate 5e-5 with
 * the same loss: carried over from DFL, not measured here (no GPU was lent to this work).
 */
export function proposeTraining(f: MachineFacts): TrainProposal {
  if (trainsOnGpu(f)) {
    const p = {
      trainer: 'sae' as const,
      batchSize: 8,
      learningRate: 5e-5,
      loss: MEASURED_LOSS,
      threads: 0,
      previewEverySeconds: 0,
    };
    return {
      ...p,
      options: { ...p, saePreset: 'gpu', previewEvery: 250 },
      reason: `a GPU (${f.gpu}) on ${f.backend}: sae at DeepFaceLab's SAEHD widths, batch 8, its learning rate 5e-5`,
    };
  }
  const cpus = Math.max(1, Math.floor(f.cpus));
  const batchSize = cpus > 8 ? Math.min(64, 2 * cpus) : 16;
  const p = {
    trainer: 'lightweight' as const,
    batchSize,
    learningRate: MEASURED_LEARNING_RATE,
    loss: MEASURED_LOSS,
    threads: 0,
    previewEverySeconds: 120,
  };
  return {
    ...p,
    options: { ...p },
    reason: `no GPU for training (${f.backend ?? 'no backend'}), ${cpus} core${cpus > 1 ? 's' : ''}: lightweight on every core, batch ${batchSize}, the measured rate and loss, a preview every 2 minutes`,
  };
}

/** The EGs/s to plan with: a measured rate for this trainer, else the reference machine's scaled by cores. */
export function planningRate(
  trainer: string,
  f: MachineFacts,
  measured: readonly MeasuredRate[] = [],
): { egs: number; source: string } | undefined {
  const m = measured.find(
    (r) => r.trainer === trainer && r.egs > 0 && (!r.backend || !f.backend || r.backend === f.backend),
  );
  if (m) return { egs: m.egs, source: `measured: ${m.source}` };
  const ref = REFERENCE_RATE[trainer as TrainerName];
  if (!ref || trainsOnGpu(f)) return undefined;
  const cores = Math.max(1, Math.floor(f.cpus));
  return {
    egs: ref.egsOneCore * (1 + ref.perAddedCore * (cores - 1)),
    source: `estimated from ${ref.source}`,
  };
}

export interface TimeToResult {
  /** Seconds from now to a recognisable swap (0 when the examples are done). */
  seconds: number;
  /** The iteration at which it is expected, at this batch size. */
  iteration: number;
  egs: number;
  /** Where the rate and the examples come from. */
  rateSource: string;
  curveSource: string;
}

/**
 * The time to a recognisable swap: the examples the trainer's curve needs (RECOGNISABLE), less those done
 * (`doneIterations` at `batchSize`), over the rate. Undefined when the trainer has no measured curve or no rate.
 */
export function timeToRecognisable(
  trainer: string,
  batchSize: number,
  rate: { egs: number; source: string } | undefined,
  doneIterations = 0,
): TimeToResult | undefined {
  const curve = RECOGNISABLE[trainer as TrainerName];
  if (!curve || !rate || !(rate.egs > 0) || batchSize < 1) return undefined;
  const iteration = Math.ceil(curve.examples / (2 * batchSize));
  const left = Math.max(0, iteration - doneIterations) * 2 * batchSize;
  return { seconds: left / rate.egs, iteration, egs: rate.egs, rateSource: rate.source, curveSource: curve.source };
}

/** `1h 05m`, `12 min`, `40 s`. */
export function roughDuration(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const m = Math.round(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * The Train view's estimate line: the time to a recognisable swap with the figures it comes from, or why there
 * is none.
 */
export function estimateText(
  trainer: string,
  batchSize: number,
  rate: { egs: number; source: string } | undefined,
  doneIterations = 0,
): string {
  if (!RECOGNISABLE[trainer as TrainerName]) return `no estimate: ${trainer} has no measured quality curve yet`;
  if (!rate) return `no estimate: no training rate for ${trainer} on this machine yet (start training to measure it)`;
  const t = timeToRecognisable(trainer, batchSize, rate, doneIterations);
  if (!t) return 'no estimate';
  const when =
    t.seconds === 0
      ? `reached (iteration ${t.iteration})`
      : `about ${roughDuration(t.seconds)} (iteration ${t.iteration})`;
  return `${when} at ${t.egs.toFixed(1)} EGs/s, ${t.rateSource}; curve: ${t.curveSource}`;
}
