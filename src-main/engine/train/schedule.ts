/**
 * The learning-rate schedule: a linear warmup from 0 over `warmup` steps (Goyal et al. 2017: no early loss spike
 * while Adam's second moments are still near zero), then the base rate, constant or cosine-decayed to
 * `floor` x base at step `total` (Loshchilov & Hutter, SGDR, without restarts). A pure function of the optimizer
 * step, so every gradient worker's replica of Adam and a resumed session compute the same rate.
 */
export interface LrSchedule {
  warmup: number;
  kind: 'constant' | 'cosine';
  /** Step at which the cosine reaches `floor` (the run's --iterations). */
  total: number;
  /** Fraction of the base rate the cosine ends at. */
  floor: number;
}

/** Rate factor (0..1] at optimizer step `step` (1-based: the first update is step 1). */
export function scheduleFactor(s: LrSchedule | undefined, step: number): number {
  if (!s) return 1;
  if (s.warmup > 0 && step <= s.warmup) return Math.max(step, 1) / s.warmup;
  if (s.kind === 'constant' || s.total <= s.warmup) return 1;
  const p = Math.min(1, (step - s.warmup) / (s.total - s.warmup));
  return s.floor + (1 - s.floor) * 0.5 * (1 + Math.cos(Math.PI * p));
}
