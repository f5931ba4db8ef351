/**
 * One frame's conversion: crop each face for the model (by its stored alignment matrix), swap them in one
 * batch, blend each back (blend.ts). Split in two steps so the preview can re-blend with new options without
 * running the model again. Used by the streaming runner and by the single-frame preview.
 */
import { ImagePyramid, warpToFloat } from '../face/image';
import type { Matrix2x3, Point2, RgbImage } from '../face/types';
import { blendFace, type BlendOptions, type BlendResult, type ModelFace } from './blend';
import { modelMatrix, type FaceSwapper } from './swapper';

/** A face to swap, as the alignments file gives it. */
export interface FaceToSwap {
  /** Frame pixels -> aligned crop pixels (side `alignedSize`). */
  matrix: Matrix2x3;
  alignedSize: number;
  /** 68 landmarks in frame pixels. */
  landmarks: Point2[];
}

export interface ConvertedFrame {
  /** The output frame (a new buffer; the input is not modified). */
  data: Buffer;
  faces: Array<BlendResult | null>;
}

/** Runs the model on every face of a frame (one batch). */
export async function swapFaces(frame: RgbImage, faces: readonly FaceToSwap[], swapper: FaceSwapper): Promise<ModelFace[]> {
  if (faces.length === 0) return [];
  const si = swapper.inputSize, so = swapper.outputSize;
  const pyr = new ImagePyramid(frame);
  const batch = new Float32Array(faces.length * si * si * 3);
  faces.forEach((f, k) => {
    const m = modelMatrix(f.matrix, f.alignedSize, si, swapper.coverage);
    batch.set(warpToFloat(pyr, m, si, si, { mul: 1 / 255 }), k * si * si * 3);
  });
  const res = await swapper.swap(batch, faces.length);
  return faces.map((f, k) => {
    const predicted = res.masks?.subarray(k * so * so, (k + 1) * so * so);
    return {
      matrix: modelMatrix(f.matrix, f.alignedSize, so, swapper.coverage),
      size: so,
      face: res.faces.subarray(k * so * so * 3, (k + 1) * so * so * 3),
      landmarks: f.landmarks,
      ...(predicted ? { predictedMask: predicted } : {}),
    };
  });
}

/** Blends swapped faces into a copy of the frame. */
export function blendFaces(frame: RgbImage, swapped: readonly ModelFace[], opts: BlendOptions): ConvertedFrame {
  const data = Buffer.allocUnsafe(frame.data.byteLength);
  data.set(frame.data);
  const target: RgbImage = { width: frame.width, height: frame.height, data };
  return { data, faces: swapped.map((mf) => blendFace(target, mf, opts)) };
}

/** Swaps `faces` in `frame`; the frame's own buffer is left as is, the result is a copy. */
export async function convertFrame(frame: RgbImage, faces: readonly FaceToSwap[], swapper: FaceSwapper, opts: BlendOptions): Promise<ConvertedFrame> {
  return blendFaces(frame, await swapFaces(frame, faces, swapper), opts);
}
