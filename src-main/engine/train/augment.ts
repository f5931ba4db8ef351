/**
 * Training-sample augmentation as faceswap's trainer does it, in plain JS on cached faces (no tfjs, so it runs
 * in the batch-feeder worker):
 * - a random transform of the whole face: rotation (+-10 deg), zoom (+-5%), shift (+-5%), horizontal flip (50%);
 *   applied to input and target alike;
 * - the random warp: a 5x5 grid over the covered area whose points move by N(0, 5/256 of the face) each,
 *   interpolated to a smooth displacement field; applied to the input only (the model learns to undo it);
 * - or, with `warpToLandmarks`, faceswap's warp to landmarks instead: the input deformed so its 68 landmarks sit
 *   where one of the most similar faces of the other side has them (the displacements at the landmarks
 *   interpolated by inverse-distance weights, zero on the border);
 * - optional colour augmentation (brightness, contrast, per-channel shift), to input and target alike.
 * Everything is one bilinear resampling per output pixel: target = face(T(p)), input = face(T(p) + warp(p)).
 */
import type { Rng } from './rng';

export interface CachedFace {
  /** RGBA, size x size. Alpha is the face mask (255 where there is no mask information). */
  rgba: Uint8Array;
  size: number;
  /** Eye and mouth regions (size x size, 0..255) from the face's landmarks, when the loss weights them. */
  eyes?: Uint8Array;
  mouth?: Uint8Array;
  /** The 68 landmarks in cache pixels (x0, y0, x1, ...), and those of the most similar faces of the other side. */
  landmarks?: Float32Array;
  partners?: Float32Array[];
}

export interface AugmentOptions {
  /** Output (model) size in pixels. */
  outSize: number;
  /** Fraction of the cached face that the output covers (centre crop). */
  coverage: number;
  warp: boolean;
  flip: boolean;
  transform: boolean;
  color: boolean;
  rotationDeg?: number;
  zoom?: number;
  shift?: number;
  /** Loss multipliers of the eye and mouth regions: batches carry the regions' planes when above 1. */
  regionWeights?: { eyes: number; mouth: number };
  /** The batch asks for the face loss inside the face mask only (masked trainers). */
  maskLoss?: boolean;
  /** Warp the input to a partner face's landmarks instead of the random warp (faces with landmarks and partners). */
  warpToLandmarks?: boolean;
}

/**
 * Writes one augmented sample: `input` and `target` (RGB float 0..1, outSize^2 x 3, at `offset` floats) and,
 * when given, `mask` (outSize^2 floats 0..1) from the face's alpha, transformed like the target.
 */
export function augmentInto(
  face: CachedFace,
  o: AugmentOptions,
  rng: Rng,
  input: Float32Array,
  target: Float32Array,
  offset: number,
  mask?: Float32Array,
  maskOffset = 0,
  planes: ReadonlyArray<{ from: Uint8Array; to: Float32Array }> = [],
): void {
  const S = face.size;
  const N = o.outSize;
  const c = S / 2;
  const span = o.coverage * S; // source pixels covered by the output
  let rot = 0;
  let scale = 1;
  let tx = 0;
  let ty = 0;
  let flip = false;
  if (o.transform) {
    rot = (rng.uniform(-1, 1) * (o.rotationDeg ?? 10) * Math.PI) / 180;
    scale = 1 + rng.uniform(-1, 1) * (o.zoom ?? 0.05);
    tx = rng.uniform(-1, 1) * (o.shift ?? 0.05) * S;
    ty = rng.uniform(-1, 1) * (o.shift ?? 0.05) * S;
  }
  if (o.flip) flip = rng.next() < 0.5;
  const cos = Math.cos(rot) * scale;
  const sin = Math.sin(rot) * scale;
  // 5x5 warp grid (source-pixel displacements), faceswap's scale 5 px per 256 px face.
  const G = 5;
  const gx = new Float32Array(G * G);
  const gy = new Float32Array(G * G);
  if (o.warp) {
    const sigma = (5 / 256) * S;
    for (let i = 0; i < G * G; i++) {
      gx[i] = rng.normal() * sigma;
      gy[i] = rng.normal() * sigma;
    }
  }
  const partner =
    o.warpToLandmarks && face.landmarks && face.partners?.length
      ? (face.partners[rng.int(face.partners.length)] as Float32Array)
      : undefined;
  const toLandmarks = partner ? landmarkWarp(face.landmarks as Float32Array, partner, S) : undefined;
  let cScale = 1;
  let cShift = 0;
  let cr = 0;
  let cg = 0;
  let cb = 0;
  if (o.color) {
    cScale = 1 + rng.uniform(-0.15, 0.15);
    cShift = rng.uniform(-0.06, 0.06);
    cr = rng.uniform(-0.03, 0.03);
    cg = rng.uniform(-0.03, 0.03);
    cb = rng.uniform(-0.03, 0.03);
  }
  const px = face.rgba;
  const sample = (
    sx: number,
    sy: number,
    out: Float32Array,
    at: number,
    alpha?: Float32Array,
    aAt?: number,
    withPlanes = false,
  ) => {
    // Bilinear, edge-clamped (faceswap uses border replicate).
    const x = Math.min(Math.max(sx, 0), S - 1);
    const y = Math.min(Math.max(sy, 0), S - 1);
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const x1 = Math.min(x0 + 1, S - 1);
    const y1 = Math.min(y0 + 1, S - 1);
    const fx = x - x0;
    const fy = y - y0;
    const w00 = (1 - fx) * (1 - fy);
    const w01 = fx * (1 - fy);
    const w10 = (1 - fx) * fy;
    const w11 = fx * fy;
    const i00 = (y0 * S + x0) * 4;
    const i01 = (y0 * S + x1) * 4;
    const i10 = (y1 * S + x0) * 4;
    const i11 = (y1 * S + x1) * 4;
    for (let ch = 0; ch < 3; ch++) {
      const v =
        ((px[i00 + ch] as number) * w00 +
          (px[i01 + ch] as number) * w01 +
          (px[i10 + ch] as number) * w10 +
          (px[i11 + ch] as number) * w11) /
        255;
      let u = v;
      if (o.color) u = (v - 0.5) * cScale + 0.5 + cShift + (ch === 0 ? cr : ch === 1 ? cg : cb);
      out[at + ch] = u < 0 ? 0 : u > 1 ? 1 : u;
    }
    if (alpha && aAt !== undefined) {
      alpha[aAt] =
        ((px[i00 + 3] as number) * w00 +
          (px[i01 + 3] as number) * w01 +
          (px[i10 + 3] as number) * w10 +
          (px[i11 + 3] as number) * w11) /
        255;
    }
    if (withPlanes) {
      const p = (at - offset) / 3 + maskOffset;
      for (const { from, to } of planes) {
        to[p] =
          ((from[i00 >> 2] as number) * w00 +
            (from[i01 >> 2] as number) * w01 +
            (from[i10 >> 2] as number) * w10 +
            (from[i11 >> 2] as number) * w11) /
          255;
      }
    }
  };
  for (let v = 0; v < N; v++) {
    const ny = (v + 0.5) / N; // 0..1 over the output
    for (let u = 0; u < N; u++) {
      const nx = (u + 0.5) / N;
      let qx = (nx - 0.5) * span;
      const qy = (ny - 0.5) * span;
      if (flip) qx = -qx;
      const sx = c + cos * qx - sin * qy + tx;
      const sy = c + sin * qx + cos * qy + ty;
      const at = offset + (v * N + u) * 3;
      sample(sx, sy, target, at, mask, mask ? maskOffset + v * N + u : undefined, planes.length > 0);
      if (toLandmarks) {
        const [dx, dy] = toLandmarks(sx, sy);
        sample(sx + dx, sy + dy, input, at);
      } else if (o.warp) {
        // Bilinear interpolation of the grid displacement at (nx, ny).
        const gu = nx * (G - 1);
        const gv = ny * (G - 1);
        const a0 = Math.min(Math.floor(gu), G - 2);
        const b0 = Math.min(Math.floor(gv), G - 2);
        const fu = gu - a0;
        const fv = gv - b0;
        const k00 = b0 * G + a0;
        const dx =
          (gx[k00] as number) * (1 - fu) * (1 - fv) +
          (gx[k00 + 1] as number) * fu * (1 - fv) +
          (gx[k00 + G] as number) * (1 - fu) * fv +
          (gx[k00 + G + 1] as number) * fu * fv;
        const dy =
          (gy[k00] as number) * (1 - fu) * (1 - fv) +
          (gy[k00 + 1] as number) * fu * (1 - fv) +
          (gy[k00 + G] as number) * (1 - fu) * fv +
          (gy[k00 + G + 1] as number) * fu * fv;
        sample(sx + dx, sy + dy, input, at);
      } else {
        input[at] = target[at] as number;
        input[at + 1] = target[at + 1] as number;
        input[at + 2] = target[at + 2] as number;
      }
    }
  }
}

/**
 * The displacement field of the warp to landmarks, in source pixels: at a partner landmark q_k it is l_k - q_k
 * (so the input shows the face's own point l_k where the partner has its point), zero at 16 anchors on the
 * border, and in between the inverse-square-distance weighted mean (Shepard's interpolation: smooth, exact at
 * the points, no triangulation; faceswap uses a Delaunay piecewise-affine warp for the same purpose).
 */
export function landmarkWarp(
  own: Float32Array,
  partner: Float32Array,
  size: number,
): (x: number, y: number) => [number, number] {
  const px: number[] = [];
  const py: number[] = [];
  const dx: number[] = [];
  const dy: number[] = [];
  for (let k = 0; k < 68; k++) {
    px.push(partner[2 * k] as number);
    py.push(partner[2 * k + 1] as number);
    dx.push((own[2 * k] as number) - (partner[2 * k] as number));
    dy.push((own[2 * k + 1] as number) - (partner[2 * k + 1] as number));
  }
  for (let i = 0; i < 4; i++) {
    const t = (i / 4) * (size - 1);
    for (const [x, y] of [
      [t, 0],
      [size - 1, t],
      [size - 1 - t, size - 1],
      [0, size - 1 - t],
    ] as const) {
      px.push(x);
      py.push(y);
      dx.push(0);
      dy.push(0);
    }
  }
  return (x, y) => {
    let sw = 0;
    let sx = 0;
    let sy = 0;
    for (let k = 0; k < px.length; k++) {
      const d2 = ((px[k] as number) - x) ** 2 + ((py[k] as number) - y) ** 2;
      if (d2 < 1e-12) return [dx[k] as number, dy[k] as number];
      const w = 1 / d2;
      sw += w;
      sx += w * (dx[k] as number);
      sy += w * (dy[k] as number);
    }
    return [sx / sw, sy / sw];
  };
}

/** A batch of one side: inputs (warped), targets, masks; NHWC float32 0..1. */
export interface Batch {
  input: Float32Array;
  target: Float32Array;
  mask?: Float32Array;
  n: number;
  size: number;
  /** Loss regions (eyes, mouth: n x size x size, 0..1) and how much more their pixels count. */
  regions?: Array<{ plane: Float32Array; multiplier: number }>;
  /** The face loss counts inside `mask` only. */
  maskLoss?: boolean;
}

/** The buffers of a batch's arrays, to move it to another thread (each array owns its buffer). */
export function batchBuffers(b: Batch): ArrayBuffer[] {
  const arrays = [b.input, b.target, ...(b.mask ? [b.mask] : []), ...(b.regions ?? []).map((r) => r.plane)];
  return arrays.map((x) => x.buffer as ArrayBuffer);
}

export function makeBatch(
  faces: readonly CachedFace[],
  n: number,
  o: AugmentOptions,
  rng: Rng,
  withMask: boolean,
  order: () => number,
): Batch {
  const N = o.outSize;
  const input = new Float32Array(n * N * N * 3);
  const target = new Float32Array(n * N * N * 3);
  const mask = withMask ? new Float32Array(n * N * N) : undefined;
  const rw = o.regionWeights;
  const regions = (['eyes', 'mouth'] as const)
    .filter((k) => rw && rw[k] > 1)
    .map((k) => ({
      key: k,
      plane: new Float32Array(n * N * N),
      multiplier: (rw as { eyes: number; mouth: number })[k],
    }));
  for (let i = 0; i < n; i++) {
    const face = faces[order()];
    if (!face) throw new Error('empty face set');
    // A face without landmarks has no region planes: its regions stay 0 (no extra weight).
    const planes = regions.flatMap((r) => (face[r.key] ? [{ from: face[r.key] as Uint8Array, to: r.plane }] : []));
    augmentInto(face, o, rng, input, target, i * N * N * 3, mask, i * N * N, planes);
  }
  return {
    input,
    target,
    n,
    size: N,
    ...(mask ? { mask } : {}),
    ...(regions.length ? { regions: regions.map((r) => ({ plane: r.plane, multiplier: r.multiplier })) } : {}),
    ...(o.maskLoss && mask ? { maskLoss: true } : {}),
  };
}

/** The centre crop of a face, no augmentation (preview and evaluation). */
export function centreCrop(
  face: CachedFace,
  outSize: number,
  coverage: number,
): { rgb: Float32Array; mask: Float32Array } {
  const rgb = new Float32Array(outSize * outSize * 3);
  const inp = new Float32Array(outSize * outSize * 3);
  const mask = new Float32Array(outSize * outSize);
  const o: AugmentOptions = { outSize, coverage, warp: false, flip: false, transform: false, color: false };
  augmentInto(face, o, { next: () => 0, uniform: () => 0, normal: () => 0 } as unknown as Rng, inp, rgb, 0, mask, 0);
  return { rgb, mask };
}
