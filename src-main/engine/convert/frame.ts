/**
 * One frame's conversion: crop each face for the model (by its stored alignment matrix), swap them in one
 * batch, blend each back (blend.ts). Split in two steps so the preview can re-blend with new options without
 * running the model again. Used by the streaming runner and by the single-frame preview.
 */
import { ImagePyramid, warpToFloat } from '../face/image';
import type { Matrix2x3, Point2, RgbImage } from '../face/types';
import { invertMatrix, matrixScale } from '../face/umeyama';
import { blendFace, type BlendOptions, type BlendResult, type BlendScratch, type ModelFace } from './blend';
import type { FaceProvider } from './faces';
import { modelMatrix, type FaceSwapper } from './swapper';

/** A face to swap, as the alignments file gives it. */
export interface FaceToSwap {
  /** Frame pixels -> aligned crop pixels (side `alignedSize`). */
  matrix: Matrix2x3;
  alignedSize: number;
  /** 68 landmarks in frame pixels. */
  landmarks: Point2[];
  /** Occlusion masks for `--mask` (convert/occlusion.ts): passed to the blend as they are (see ModelFace). */
  hands?: ModelFace['hands'];
  alignedMasks?: ModelFace['alignedMasks'];
}

export interface ConvertedFrame {
  /** The output frame (a new buffer; the input is not modified). */
  data: Buffer;
  faces: Array<BlendResult | null>;
}

/** Runs the model on every face of a frame (one batch). */
export async function swapFaces(
  frame: RgbImage,
  faces: readonly FaceToSwap[],
  swapper: FaceSwapper,
): Promise<ModelFace[]> {
  if (faces.length === 0) return [];
  const si = swapper.inputSize,
    so = swapper.outputSize;
  const batch = new Float32Array(faces.length * si * si * 3);
  faces.forEach((f, k) => {
    const m = modelMatrix(f.matrix, f.alignedSize, si, swapper.coverage);
    // Warp from the face's own region, not the whole frame: the warp's anti-aliasing pyramid is then built
    // for that region only (measured 11 ms of halving per 720p frame before).
    const c = cropFor(frame, m, si);
    batch.set(
      warpToFloat(new ImagePyramid(c.image), translate(m, c.x, c.y), si, si, { mul: 1 / 255 }),
      k * si * si * 3,
    );
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
      ...(f.hands ? { hands: f.hands } : {}),
      ...(f.alignedMasks ? { alignedMasks: f.alignedMasks } : {}),
    };
  });
}

/** Blends swapped faces into a copy of the frame. */
export function blendFaces(frame: RgbImage, swapped: readonly ModelFace[], opts: BlendOptions): ConvertedFrame {
  const data = Buffer.allocUnsafe(frame.data.byteLength);
  data.set(frame.data);
  return blendFacesInPlace({ width: frame.width, height: frame.height, data }, swapped, opts);
}

/**
 * Blends swapped faces into the frame's own pixels (for a frame nothing else reads afterwards). With `scratch`,
 * every face's result planes are its views (each face's overwrite the previous one's): for a caller that only
 * counts the faces.
 */
function blendFacesInPlace(
  frame: RgbImage,
  swapped: readonly ModelFace[],
  opts: BlendOptions,
  scratch?: BlendScratch,
): ConvertedFrame {
  const data = frame.data;
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { data: buf, faces: swapped.map((mf) => blendFace(frame, mf, opts, scratch)) };
}

/** Swaps `faces` in `frame`; the frame's own buffer is left as is, the result is a copy. */
export async function convertFrame(
  frame: RgbImage,
  faces: readonly FaceToSwap[],
  swapper: FaceSwapper,
  opts: BlendOptions,
): Promise<ConvertedFrame> {
  return blendFaces(frame, await swapFaces(frame, faces, swapper), opts);
}

/** A frame to convert, as it crosses to a worker (frame-pool.ts). */
export interface FrameJob {
  key: string;
  stem: string;
  index: number;
  width: number;
  height: number;
  data: Uint8Array;
}

/** A converted frame, what it held, and the milliseconds of each step (faces, model, blend). */
export interface FrameDone {
  data: Uint8Array;
  faces: number;
  skipped: number;
  filtered: number;
  detected: boolean;
  steps: Record<string, number>;
}

/**
 * One frame's whole conversion (faces from the provider, model, blend), timed step by step. The faces are blended
 * into `job.data` itself, which comes back as `data`: the caller hands the frame over (a 1080p frame is 6 MiB; a
 * copy per frame was garbage that piled up between collections, in every worker). `scratch`: the blend's working
 * planes, one per thread, reused frame after frame.
 */
export async function convertJob(
  job: FrameJob,
  provider: FaceProvider,
  swapper: FaceSwapper,
  opts: BlendOptions,
  scratch: BlendScratch,
): Promise<FrameDone> {
  const steps: Record<string, number> = {};
  const image = { width: job.width, height: job.height, data: job.data };
  let t = performance.now();
  const lap = (k: string) => {
    const now = performance.now();
    steps[k] = (steps[k] ?? 0) + now - t;
    t = now;
  };
  const found = await provider.facesFor(job.key, job.stem, job.index, image);
  lap('faces');
  const swapped = await swapFaces(image, found.faces, swapper);
  lap('model');
  const r = blendFacesInPlace(image, swapped, opts, scratch);
  lap('blend');
  return {
    data: r.data,
    faces: r.faces.filter(Boolean).length,
    skipped: found.skipped,
    filtered: found.filtered,
    detected: found.detected,
    steps,
  };
}

/** The frame region (even origin, clipped to the frame, padded for the pyramid) a model input square samples. */
function cropFor(frame: RgbImage, m: Matrix2x3, size: number): { image: RgbImage; x: number; y: number } {
  const inv = invertMatrix(m);
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const [u, v] of [
    [-1, -1],
    [size, -1],
    [-1, size],
    [size, size],
  ] as const) {
    const x = inv[0][0] * u + inv[0][1] * v + inv[0][2],
      y = inv[1][0] * u + inv[1][1] * v + inv[1][2];
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x);
    y1 = Math.max(y1, y);
  }
  // Pad by the largest pyramid step the warp may use, so border samples see the same pixels.
  const pad = 2 * Math.ceil(1 / matrixScale(m)) + 4;
  // Origin aligned to the pyramid level the warp picks (2^k), so every level of the crop's pyramid is an exact
  // window of the whole frame's.
  const shrink = 1 / matrixScale(m);
  const align = 2 ** (shrink >= 2 ? Math.floor(Math.log2(shrink)) : 0);
  const X0 = Math.max(0, Math.floor((x0 - pad) / align) * align),
    Y0 = Math.max(0, Math.floor((y0 - pad) / align) * align);
  // Size a multiple of 2^k too (the warp scales by base/level size); a region cut by the frame edge uses the frame.
  const X1 = X0 + Math.ceil((Math.ceil(x1 + pad) - X0) / align) * align,
    Y1 = Y0 + Math.ceil((Math.ceil(y1 + pad) - Y0) / align) * align;
  if (X1 > frame.width || Y1 > frame.height || X1 <= X0 || Y1 <= Y0) return { image: frame, x: 0, y: 0 };
  const w = X1 - X0,
    h = Y1 - Y0,
    data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++)
    data.set(frame.data.subarray(((Y0 + y) * frame.width + X0) * 3, ((Y0 + y) * frame.width + X1) * 3), y * w * 3);
  return { image: { width: w, height: h, data }, x: X0, y: Y0 };
}

/** m applied to frame coordinates, expressed for a crop whose origin is (x, y) in the frame. */
function translate(m: Matrix2x3, x: number, y: number): Matrix2x3 {
  return [
    [m[0][0], m[0][1], m[0][2] + m[0][0] * x + m[0][1] * y],
    [m[1][0], m[1][1], m[1][2] + m[1][0] * x + m[1][1] * y],
  ];
}
