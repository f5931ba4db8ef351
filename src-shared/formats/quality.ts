/**
 * The quality report of a swap (`faceswap-studio evaluate`, and `<output>.quality.json` beside every
 * conversion). Per-frame series and summaries (mean, 5th percentile). Definitions: docs/quality.md.
 */
import { z } from 'zod';

export const QUALITY_VERSION = 2;

const summary = z.object({
  mean: z.number(),
  p5: z.number(),
  p95: z.number(),
  /** Number of values summarised. */
  n: z.int().nonnegative(),
});
export type Summary = z.output<typeof summary>;

/** The report's schema: what `evaluate` returns and writes, and what the studio reads (`job:done`, the sidecar). */
export const qualityReportSchema = z.object({
  version: z.literal(QUALITY_VERSION),
  created: z.string(),
  /** One line in plain words: what a viewer would see (`qualityVerdict`; thresholds in docs/quality.md). */
  verdict: z.string(),
  inputs: z.object({
    original: z.string(),
    swapped: z.string(),
    sourceFaces: z.array(z.string()),
    targetFaces: z.array(z.string()),
    model: z.string().optional(),
  }),
  frames: z.object({
    total: z.number(),
    measured: z.number(),
    withFaceBoth: z.number(),
    /**
     * Frames with both faces whose identity was measured: one measured frame in `identityEvery`, by frame index
     * (the identity and detection summaries cover these; absent in reports written before the sampling).
     */
    identityMeasured: z.number().optional(),
  }),
  identity: z.object({
    /** Cosine similarity of each swapped face's descriptor to the target identity's mean descriptor. */
    similarityToTarget: summary,
    /** ... and to the source identity's mean descriptor. */
    similarityToSource: summary,
    /** Fraction of swapped faces whose descriptor is nearer the target's mean than the source's (0..1). */
    retrievalToTarget: z.number(),
    /** Mean over frames of similarity to the target minus similarity to the source: > 0 reads as the target. */
    margin: z.number(),
  }),
  sharpness: z.object({
    /**
     * Median over frames of the swapped face's high-frequency energy (variance of the Laplacian of the luminance)
     * over the original's, both inside the original face's landmark hull: 1 = as sharp, 0.5 = half the detail energy.
     */
    ratio: z.number(),
    /** The per-frame ratio's mean and percentiles. */
    perFrame: summary,
    /** Median variance of the Laplacian inside the hull, original and swapped (8-bit luminance units squared). */
    laplacianOriginal: z.number(),
    laplacianSwapped: z.number(),
  }),
  detection: z.object({
    /** Face detector (BlazeFace) confidence, 0..1, on the swapped face where the original face is. */
    swappedScore: summary,
    /** ... and on the original face, for comparison. */
    originalScore: summary,
  }),
  pose: z.object({
    /** Mean of |yaw|, |pitch|, |roll| differences, swapped vs original face, degrees. */
    errorDeg: summary,
    yawDeg: summary,
    pitchDeg: summary,
    rollDeg: summary,
  }),
  expression: z.object({
    /** Mean absolute difference of mouth, eye and brow ratios (scale-free). */
    error: summary,
    mouth: summary,
    eyes: summary,
    brows: summary,
  }),
  temporal: z.object({
    /** Swapped face's landmark jitter minus the original's (inter-ocular units per frame). */
    jitter: z.number(),
    jitterSwapped: z.number(),
    jitterOriginal: z.number(),
    /** Mean absolute change between frames inside the face region, swapped minus original (8-bit levels). */
    flicker: z.number(),
    flickerSwapped: z.number(),
    flickerOriginal: z.number(),
  }),
  reconstruction: z
    .object({
      /** SSIM and PSNR (dB) of A->A and B->B on held-out aligned faces. */
      ssim: z.number(),
      psnr: z.number(),
      ssimA: z.number(),
      ssimB: z.number(),
      psnrA: z.number(),
      psnrB: z.number(),
      faces: z.object({ A: z.number(), B: z.number() }),
    })
    .optional(),
  /** Per-frame values (null where a face was missing), for charts. */
  perFrame: z.array(
    z.object({
      frame: z.number(),
      similarityToTarget: z.number().nullable(),
      poseErrorDeg: z.number().nullable(),
      expressionError: z.number().nullable(),
      sharpness: z.number().nullable(),
    }),
  ),
});
export type QualityReport = z.output<typeof qualityReportSchema>;

/** Thresholds of the verdict (documented in docs/quality.md). */
export const VERDICT = {
  /** `sharpness.ratio` below this: still blurry. */
  blurry: 0.5,
  /** ... below this (and not blurry): soft. */
  soft: 0.75,
  /** ... above this: sharper than the original (noise, artefacts or over-sharpening). */
  overSharp: 1.6,
  /** Reads as B: at least this fraction of faces retrieve the target and the margin is at least `margin`. */
  retrieval: 0.8,
  margin: 0.1,
  /** Pose error (degrees) and expression error above which the verdict says the face does not follow. */
  poseDeg: 5,
  expression: 0.1,
} as const;

/**
 * The one-line verdict of a report: identity (reads as B / between A and B / reads as A) and sharpness, blur
 * first (a blur's identity scores mean little), then whether the face follows the original's pose and expression.
 */
export function qualityVerdict(
  r: Pick<QualityReport, 'frames' | 'identity' | 'sharpness' | 'pose' | 'expression'>,
): string {
  if (r.frames.withFaceBoth === 0) return 'no face measured: nothing to judge';
  const s = r.sharpness.ratio;
  if (!(s >= VERDICT.blurry)) return 'still blurry: train longer';
  const { retrievalToTarget: ret, margin } = r.identity;
  const identity = ret >= VERDICT.retrieval && margin >= VERDICT.margin ? 'B' : ret < 0.5 || margin < 0 ? 'A' : 'AB';
  const sharp =
    s > VERDICT.overSharp
      ? 'sharper than the original (check for noise or artefacts)'
      : s < VERDICT.soft
        ? 'soft'
        : 'sharp';
  const follows: string[] = [];
  if (r.pose.errorDeg.mean > VERDICT.poseDeg) follows.push(`pose off by ${r.pose.errorDeg.mean.toFixed(1)} deg`);
  if (r.expression.error.mean > VERDICT.expression) follows.push('expression does not follow');
  const tail = follows.length ? `; ${follows.join(', ')}` : '';
  if (r.frames.identityMeasured === 0)
    return `identity not measured (no sampled frame has both faces), ${sharp}${tail}`;
  if (identity === 'B') return `reads as B, ${sharp}${tail}${sharp === 'soft' ? ': train longer for detail' : ''}`;
  if (identity === 'A') return `reads as A, ${sharp}${tail}: train longer`;
  return `between A and B, ${sharp}${tail}: train longer`;
}
