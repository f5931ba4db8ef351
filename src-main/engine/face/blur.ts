/**
 * Sharpness of an aligned face: variance of the 3x3 Laplacian of its grey levels (Pech-Pacheco et al., "Diatom
 * autofocusing in brightfield microscopy", ICPR 2000; the measure faceswap sorts faces by), computed on the
 * inner face (the legacy 0..1 square: brows to mouth) resampled to 128x128 so the value does not depend on
 * `--size` or on the face's size in the frame. Higher is sharper; below ~20 is visibly blurred.
 */
import { warpToRgb, type ImagePyramid } from './image';
import type { Matrix2x3, RgbImage } from './types';

const N = 128;

/** The warp `blurScore` samples the frame by (into `BLUR_SIDE` x `BLUR_SIDE`), from the legacy matrix. */
export function blurWarp(legacy: Matrix2x3): Matrix2x3 {
  return [
    [legacy[0][0] * N, legacy[0][1] * N, legacy[0][2] * N - 0.5],
    [legacy[1][0] * N, legacy[1][1] * N, legacy[1][2] * N - 0.5],
  ];
}
export const BLUR_SIDE = N;

export function blurScore(src: ImagePyramid | RgbImage, legacy: Matrix2x3): number {
  const rgb = warpToRgb(src, blurWarp(legacy), N, N);
  const g = new Float32Array(N * N);
  for (let i = 0; i < N * N; i++) g[i] = 0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!;
  let sum = 0,
    sum2 = 0,
    n = 0;
  for (let y = 1; y < N - 1; y++) {
    for (let x = 1; x < N - 1; x++) {
      const i = y * N + x;
      const v = g[i - 1]! + g[i + 1]! + g[i - N]! + g[i + N]! - 4 * g[i]!;
      sum += v;
      sum2 += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return sum2 / n - mean * mean;
}
