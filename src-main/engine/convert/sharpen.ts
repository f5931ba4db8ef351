/**
 * Unsharp mask of the new face (faceswap's convert `sharpen` plugin, box or gaussian): W + amount (W - blur(W)),
 * on the pixels the new face covers. The radius follows the face size so a face looks the same at any resolution.
 */
import type { SHARPEN_MODES } from '../../../src-shared/stages/convert';
import { blurRgb } from '../image/raster';

export type SharpenMode = (typeof SHARPEN_MODES)[number];

export interface SharpenInput {
  face: Float32Array;
  w: number;
  h: number;
  /** Side of the face square in these pixels. */
  faceSide: number;
  /** Percent (100 = add the full high-pass once). */
  amount: number;
  valid?: Float32Array;
}

/** Blur radius of the high-pass, pixels: about 1.5% of the face side, at least 1. */
export function sharpenRadius(faceSide: number): number {
  return Math.max(1, faceSide * 0.015);
}

export function sharpenFace(mode: SharpenMode, { face, w, h, faceSide, amount, valid }: SharpenInput): void {
  if (mode === 'none' || amount <= 0) return;
  const r = sharpenRadius(faceSide);
  const blurred = mode === 'box' ? blurRgb(face, w, h, Math.round(r), true) : blurRgb(face, w, h, r);
  const k = amount / 100;
  for (let i = 0; i < w * h; i++) {
    if (valid && valid[i]! <= 0) continue;
    for (let c = 0; c < 3; c++) {
      const j = i * 3 + c;
      face[j] = face[j]! + k * (face[j]! - blurred[j]!);
    }
  }
}
