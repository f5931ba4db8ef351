/**
 * Reference geometry of faceswap (https://github.com/deepfakes/faceswap, lib/align/constants.py, GPL-3.0 like
 * this project): the 2D mean face of iBUG points 17-67 in a 0..1 square ("legacy" alignment space), the 26-point
 * 3D mean face used to estimate head pose (both tables in mean-face.json), and the padding ratio of each centering.
 */
import tables from './mean-face.json' with { type: 'json' };
import type { Point2 } from './types';

export type Centering = 'legacy' | 'face' | 'head';

/** Share of the aligned image that is padding around the 0..1 legacy square, per centering. */
export const EXTRACT_RATIOS: Record<Centering, number> = { legacy: 0.375, face: 0.5, head: 0.625 };

/** iBUG points 17..67 of the mean face, x and y in 0..1. */
export const MEAN_FACE_51 = tables.meanFace51 as unknown as readonly Point2[];

/** 3D mean face (y up, z towards the viewer) for the iBUG points in `POSE_POINTS`. */
export const MEAN_FACE_3D_26 = tables.meanFace3d26 as unknown as readonly [number, number, number][];

/** iBUG indices matching `MEAN_FACE_3D_26`, in order. */
export const POSE_POINTS = [
  6, 7, 8, 9, 10, 17, 21, 22, 26, 31, 32, 33, 34, 35, 36, 39, 42, 45, 48, 50, 51, 52, 54, 56, 57, 58,
] as const;
