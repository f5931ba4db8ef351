/**
 * The quality report of a swap (`faceswap-studio evaluate`, and `<output>.quality.json` beside every
 * conversion). Per-frame series and summaries (mean, 5th percentile). Definitions: docs/quality.md.
 */
export const QUALITY_VERSION = 1;

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
  inputs: { original: string; swapped: string; sourceFaces: string[]; targetFaces: string[]; model?: string };
  frames: { total: number; measured: number; withFaceBoth: number };
  identity: {
    /** Cosine similarity of each swapped face's descriptor to the target identity's mean descriptor. */
    similarityToTarget: Summary;
    /** ... and to the source identity's mean descriptor. */
    similarityToSource: Summary;
    /** Fraction of swapped faces whose descriptor is nearer the target's mean than the source's (0..1). */
    retrievalToTarget: number;
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
  perFrame: Array<{ frame: number; similarityToTarget: number | null; poseErrorDeg: number | null; expressionError: number | null }>;
}
