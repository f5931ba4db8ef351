/**
 * The quality report of a swap (`faceswap-studio evaluate`, and `<output>.quality.json` beside every
 * conversion). Per-frame series and summaries (mean, 5th percentile). Definitions: docs/quality.md.
 */
export const QUALITY_VERSION = 2;

export interface Summary {
  mean: number;
  p5: number;
  p95: number;
  /** Number of values summarised. */
  n: number;
}

export interface QualityReport {
  version: typeof QUALITY_VERSION;
  created: string;
  /** One line in plain words: what a viewer would see (`qualityVerdict`; thresholds in docs/quality.md). */
  verdict: string;
  inputs: { original: string; swapped: string; sourceFaces: string[]; targetFaces: string[]; model?: string };
  frames: { total: number; measured: number; withFaceBoth: number };
  identity: {
    /** Cosine similarity of each swapped face's descriptor to the target identity's mean descriptor. */
    similarityToTarget: Summary;
    /** ... and to the source identity's mean descriptor. */
    similarityToSource: Summary;
    /** Fraction of swapped faces whose descriptor is nearer the target's mean than the source's (0..1). */
    retrievalToTarget: number;
    /** Mean over frames of similarity to the target minus similarity to the source: > 0 reads as the target. */
    margin: number;
  };
  sharpness: {
    /**
     * Median over frames of the swapped face's high-frequency energy (variance of the Laplacian of the luminance)
     * over the original's, both inside the original face's landmark hull: 1 = as sharp, 0.5 = half the detail energy.
     */
    ratio: number;
    /** The per-frame ratio's mean and percentiles. */
    perFrame: Summary;
    /** Median variance of the Laplacian inside the hull, original and swapped (8-bit luminance units squared). */
    laplacianOriginal: number;
    laplacianSwapped: number;
  };
  detection: {
    /** Face detector (BlazeFace) confidence, 0..1, on the swapped face where the original face is. */
    swappedScore: Summary;
    /** ... and on the original face, for comparison. */
    originalScore: Summary;
  };
  pose: {
    /** Mean of |yaw|, |pitch|, |roll| differences, swapped vs original face, degrees. */
    errorDeg: Summary;
    yawDeg: Summary;
    pitchDeg: Summary;
    rollDeg: Summary;
  };
  expression: {
    /** Mean absolute difference of mouth, eye and brow ratios (scale-free). */
    error: Summary;
    mouth: Summary;
    eyes: Summary;
    brows: Summary;
  };
  temporal: {
    /** Swapped face's landmark jitter minus the original's (inter-ocular units per frame). */
    jitter: number;
    jitterSwapped: number;
    jitterOriginal: number;
    /** Mean absolute change between frames inside the face region, swapped minus original (8-bit levels). */
    flicker: number;
    flickerSwapped: number;
    flickerOriginal: number;
  };
  reconstruction?: {
    /** SSIM and PSNR (dB) of A->A and B->B on held-out aligned faces. */
    ssim: number;
    psnr: number;
    ssimA: number;
    ssimB: number;
    psnrA: number;
    psnrB: number;
    faces: { A: number; B: number };
  };
  /** Per-frame values (null where a face was missing), for charts. */
  perFrame: Array<{
    frame: number;
    similarityToTarget: number | null;
    poseErrorDeg: number | null;
    expressionError: number | null;
    sharpness: number | null;
  }>;
}

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
  if (identity === 'B') return `reads as B, ${sharp}${tail}${sharp === 'soft' ? ': train longer for detail' : ''}`;
  if (identity === 'A') return `reads as A, ${sharp}${tail}: train longer`;
  return `between A and B, ${sharp}${tail}: train longer`;
}
