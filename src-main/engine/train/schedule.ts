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

/** When the trainer writes a preview grid (besides the last step's). */
export interface PreviewPlan {
  /** Every N iterations (0 = never). */
  every: number;
  /** Every N seconds of training (0 = never): on a CPU an iteration interval can be many minutes. */
  everySeconds: number;
}

/**
 * Whether a preview is due after `iteration`: at a multiple of `every`, once `everySeconds` have passed since the
 * last preview (or the session's start), or when the user asked for one ("Preview now"). Times in ms.
 */
export function previewDue(
  plan: PreviewPlan,
  iteration: number,
  nowMs: number,
  lastPreviewMs: number,
  requested = false,
): boolean {
  if (requested) return true;
  if (plan.every > 0 && iteration % plan.every === 0) return true;
  return plan.everySeconds > 0 && nowMs - lastPreviewMs >= plan.everySeconds * 1000;
}
