/**
 * Face detection, 468-point mesh and identity descriptor, run on crops built here from Human's models
 * (see human.ts for why the crops are ours):
 *
 * 1. BlazeFace (Human's `blazeface`, 256x256 input) on the letterboxed frame, plus overlapping zoomed tiles
 *    when faces smaller than the full-frame pass can see are wanted (`minFaceSize`); candidates are merged by
 *    weighted non-maximum suppression, as MediaPipe does.
 * 2. Face mesh (192x192) on a square crop 1.5x the detection box, rotated so the eyes are level; then once more
 *    on the crop derived from that mesh (MediaPipe's landmarks-to-ROI), which centres and levels the face
 *    better and measurably lowers the landmark error. The mesh model's face score rejects false detections.
 * 3. On video, `track` re-runs only step 2 from the previous frame's mesh; `detect` runs again every few frames
 *    or when a face is lost (done by the extract runner).
 * 4. `descriptor`: Human's faceres embedding (1024 floats) of a 224x224 upright crop of the face.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { FaceModels } from './human';
import { warpToFloat, type ImagePyramid } from './image';
import { pointBounds } from '../image/raster';
import { meshToIbug68, mirroredIbug68, pointConfidence } from './ibug68';
import type { BoxXYWH, Matrix2x3, Point2, Point3 } from './types';
import { applyMatrix, invertMatrix } from './umeyama';

export interface Roi {
  cx: number;
  cy: number;
  /** Side of the square region, source pixels. */
  size: number;
  /** Rotation of the face in the image, radians (0 = eyes level). */
  angle: number;
}

export interface Candidate {
  /** Detector box [x, y, w, h] in source pixels. */
  box: BoxXYWH;
  score: number;
  /** BlazeFace keypoints: right eye, left eye, nose, mouth, right ear, left ear (subject's sides). */
  keypoints: Point2[];
}

export interface MeshFace {
  /** 468 mesh points [x, y, z] in source pixels (z: relative depth, same scale). */
  mesh: Point3[];
  landmarks68: Point2[];
  /** Detector score of the detection this face came from (or of the track's first detection). */
  detScore: number;
  /** Face-presence score of the mesh model, 0..1. */
  meshScore: number;
  /** Bounding box of the 68 landmarks, [x, y, w, h], source pixels. */
  box: BoxXYWH;
  /** The region the mesh was predicted in; the next frame's tracking starts from it. */
  roi: Roi;
  /** Per-point confidence 0..1 of the 68 landmarks (with `mirror`: agreement of the direct and mirrored passes). */
  confidence?: number[];
}

export interface DetectOptions {
  /** Smallest face side (pixels) to look for; smaller ones are dropped. */
  minFaceSize: number;
  /** Minimum detector score of a candidate. */
  minDetScore: number;
  /**
   * Minimum face score of the mesh model for a new detection. Measured: real faces (photos and dlib_pascal)
   * 0.9995 and up, the dog face of noface_animal-faces 0.988; hence 0.995.
   */
  minMeshScore: number;
  /** Lower bar for a face that is already tracked (blur, motion and occlusion lower the score). */
  trackMinMeshScore: number;
  /** Maximum faces per image. */
  maxFaces: number;
  /** Mesh refinement passes after the first (1 = MediaPipe-style second crop). */
  refinePasses: number;
  /** Also search zoomed tiles for faces smaller than the full-frame pass sees (default true). */
  tiles?: boolean;
  /**
   * Test-time augmentation: run the mesh once more on the mirrored crop and average the two landmark sets (as
   * faceswap's re-feed does). Costs one more mesh pass per face; gives per-point confidence (agreement of the two).
   */
  mirror?: boolean;
}

/**
 * The mesh face-score bar with `--keep-non-human`: lets through faces the model is unsure are human (measured:
 * the dog face of noface_animal-faces 0.986-0.988) while still refusing texture. Human's antispoof and liveness
 * models were measured as a human check too and do not separate: the dog face scores 0.83 / 0.9999, inside the
 * range of the 96 real faces of the test photos (0.33-0.91 / 0.16-1.0).
 */
export const NON_HUMAN_MIN_MESH_SCORE = 0.9;

export const DEFAULT_DETECT: DetectOptions = {
  minFaceSize: 20,
  minDetScore: 0.5,
  minMeshScore: 0.995,
  trackMinMeshScore: 0.85,
  maxFaces: 64,
  refinePasses: 1,
};

const BF_SIZE = 256;
const MESH_SIZE = 192;
const DESC_SIZE = 224;
/** Smallest face (detector box side, in detector input pixels) BlazeFace finds reliably. */
const BF_MIN_FACE = 24;
const ROI_SCALE = 1.5;

let anchorsCache: Float32Array | null = null;
/** BlazeFace (256 input) anchors: 16x16 cells x 2 at stride 16, then 8x8 cells x 6 at stride 32. */
function anchors(): Float32Array {
  if (anchorsCache) return anchorsCache;
  const out: number[] = [];
  for (const [stride, per] of [
    [16, 2],
    [32, 6],
  ] as const) {
    const n = Math.ceil(BF_SIZE / stride);
    for (let gy = 0; gy < n; gy++)
      for (let gx = 0; gx < n; gx++) for (let k = 0; k < per; k++) out.push(stride * (gx + 0.5), stride * (gy + 0.5));
  }
  anchorsCache = Float32Array.from(out);
  return anchorsCache;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function iou(a: BoxXYWH, b: BoxXYWH): number {
  const x0 = Math.max(a[0], b[0]),
    y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]),
    y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const u = a[2] * a[3] + b[2] * b[3] - inter;
  return u > 0 ? inter / u : 0;
}

export { iou as boxIou };

/** Intersection over the smaller box's area. */
export function overlapOfSmaller(a: BoxXYWH, b: BoxXYWH): number {
  const x0 = Math.max(a[0], b[0]),
    y0 = Math.max(a[1], b[1]);
  const x1 = Math.min(a[0] + a[2], b[0] + b[2]),
    y1 = Math.min(a[1] + a[3], b[1] + b[3]);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const m = Math.min(a[2] * a[3], b[2] * b[3]);
  return m > 0 ? inter / m : 0;
}

/** Source -> crop matrix of a rotated square region sampled at `out` x `out` pixels. */
export function roiMatrix(roi: Roi, out: number): Matrix2x3 {
  const s = out / roi.size;
  const cos = Math.cos(-roi.angle) * s,
    sin = Math.sin(-roi.angle) * s;
  // crop = S R(-angle) (p - c) + (out/2 - 0.5)
  const o = out / 2 - 0.5;
  return [
    [cos, -sin, o - (cos * roi.cx - sin * roi.cy)],
    [sin, cos, o - (sin * roi.cx + cos * roi.cy)],
  ];
}

/** The MediaPipe landmarks-to-ROI rule: level the eyes (mesh 33 -> 263), square 1.5x the rotated extent. */
export function roiFromMesh(mesh: readonly Point3[] | readonly Point2[], scale = ROI_SCALE): Roi {
  const r = mesh[33]!,
    l = mesh[263]!;
  const angle = Math.atan2(l[1] - r[1], l[0] - r[0]);
  const cos = Math.cos(-angle),
    sin = Math.sin(-angle);
  let x0 = Infinity,
    y0 = Infinity,
    x1 = -Infinity,
    y1 = -Infinity;
  for (const p of mesh) {
    const x = cos * p[0] - sin * p[1],
      y = sin * p[0] + cos * p[1];
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
  }
  const mx = (x0 + x1) / 2,
    my = (y0 + y1) / 2;
  // rotate the centre back to source coordinates
  const cx = Math.cos(angle) * mx - Math.sin(angle) * my;
  const cy = Math.sin(angle) * mx + Math.cos(angle) * my;
  return { cx, cy, size: Math.max(x1 - x0, y1 - y0) * scale, angle };
}

function bbox(pts: readonly (readonly number[])[]): BoxXYWH {
  const [x0, y0, x1, y1] = pointBounds(pts);
  return [x0, y0, x1 - x0, y1 - y0];
}

export class FaceDetector {
  /** Model input buffers by side, reused: each call turns its buffer into a tensor, runs and disposes it before any await. */
  private readonly inputs = new Map<number, Float32Array>();

  constructor(readonly models: FaceModels) {}

  private input(side: number): Float32Array {
    let b = this.inputs.get(side);
    if (!b) this.inputs.set(side, (b = new Float32Array(side * side * 3)));
    return b;
  }

  /** BlazeFace on one square region of the frame; returns candidates in source pixels. */
  private async runBlazeface(pyr: ImagePyramid, m: Matrix2x3, minScore: number): Promise<Candidate[]> {
    const input = warpToFloat(pyr, m, BF_SIZE, BF_SIZE, { mul: 1 / 127.5, add: -1, out: this.input(BF_SIZE) });
    const outs = tf.tidy(() => {
      const x = tf.tensor4d(input, [1, BF_SIZE, BF_SIZE, 3]);
      const res = this.models.blazeface.execute(x) as tf.Tensor[];
      const find = (rows: number, cols: number) => res.find((t) => t.shape[1] === rows && t.shape[2] === cols)!;
      // Human's blazeface is the PINTO conversion: scores and regressors per anchor layer (512 then 384 anchors).
      const scores = tf.concat([find(512, 1), find(384, 1)], 1);
      const regs = tf.concat([find(512, 16), find(384, 16)], 1);
      return [scores, regs] as const;
    });
    const [scoresT, regsT] = outs;
    const scores = await scoresT.data();
    const regs = await regsT.data();
    tf.dispose([scoresT, regsT]);
    const inv = invertMatrix(m);
    const anc = anchors();
    const res: Candidate[] = [];
    const logitMin = Math.log(minScore / (1 - minScore));
    for (let i = 0; i < scores.length; i++) {
      const logit = scores[i]!;
      if (logit < logitMin) continue;
      const ax = anc[2 * i]!,
        ay = anc[2 * i + 1]!;
      const r = i * 16;
      const cx = regs[r]! + ax,
        cy = regs[r + 1]! + ay,
        w = regs[r + 2]!,
        h = regs[r + 3]!;
      // corners to source; the crop is axis-aligned (scale + translation), so a box stays a box
      const p0 = applyMatrix(inv, [cx - w / 2, cy - h / 2]);
      const p1 = applyMatrix(inv, [cx + w / 2, cy + h / 2]);
      const keypoints: Point2[] = [];
      for (let k = 0; k < 6; k++)
        keypoints.push(applyMatrix(inv, [regs[r + 4 + 2 * k]! + ax, regs[r + 5 + 2 * k]! + ay]));
      res.push({ box: [p0[0], p0[1], p1[0] - p0[0], p1[1] - p0[1]], score: sigmoid(logit), keypoints });
    }
    return res;
  }

  /** BlazeFace score of the face centred and levelled in its own mesh region (a second opinion). */
  async verifyScore(pyr: ImagePyramid, mesh: readonly Point3[]): Promise<number> {
    const roi = roiFromMesh(mesh, 1.6);
    const c = await this.runBlazeface(pyr, roiMatrix(roi, BF_SIZE), 0.05);
    return c.reduce((m, x) => Math.max(m, x.score), 0);
  }

  /** Face candidates of a frame: full frame plus zoomed tiles when `minFaceSize` asks for small faces. */
  async candidates(pyr: ImagePyramid, opts: DetectOptions): Promise<Candidate[]> {
    const W = pyr.width,
      H = pyr.height;
    const S = Math.max(W, H);
    const regions: Array<[number, number, number]> = [[(W - S) / 2, (H - S) / 2, S]]; // [x, y, side]
    const minFace = Math.max(8, opts.minFaceSize);
    // Tile side T so that a face of minFace pixels is BF_MIN_FACE pixels in the 256 input.
    const T = Math.max(minFace * (BF_SIZE / BF_MIN_FACE), Math.min(W, H) / 1.5);
    if (opts.tiles !== false && T < S * 0.8) {
      const nx = Math.min(4, Math.max(1, Math.ceil((W - T * 0.25) / (T * 0.75))));
      const ny = Math.min(4, Math.max(1, Math.ceil((H - T * 0.25) / (T * 0.75))));
      const side = Math.min(S, Math.max(T, W / (nx * 0.75 + 0.25), H / (ny * 0.75 + 0.25)));
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const x = nx === 1 ? (W - side) / 2 : (i * (W - side)) / (nx - 1);
          const y = ny === 1 ? (H - side) / 2 : (j * (H - side)) / (ny - 1);
          regions.push([x, y, side]);
        }
      }
    }
    return this.regionCandidates(pyr, regions, opts);
  }

  /** BlazeFace on square regions [x, y, side] of the frame, merged (weighted NMS) and size-filtered. */
  private async regionCandidates(
    pyr: ImagePyramid,
    regions: ReadonlyArray<readonly [number, number, number]>,
    opts: DetectOptions,
  ): Promise<Candidate[]> {
    const minFace = Math.max(8, opts.minFaceSize);
    const all: Candidate[] = [];
    for (const [x, y, side] of regions) {
      const s = BF_SIZE / side;
      const m: Matrix2x3 = [
        [s, 0, -x * s + (s - 1) / 2],
        [0, s, -y * s + (s - 1) / 2],
      ];
      all.push(...(await this.runBlazeface(pyr, m, opts.minDetScore)));
    }
    return weightedNms(all, 0.3).filter((c) => Math.max(c.box[2], c.box[3]) >= minFace * 0.8);
  }

  /**
   * Runs the mesh model on one region; null when the model says there is no face. With `mirror` the crop is
   * flipped left to right before the model sees it: the points come back in source pixels but with mirrored
   * labels (vertex 33, the right eye's outer corner, lands on the left eye's); `mirroredIbug68` relabels them.
   */
  async meshAt(pyr: ImagePyramid, roi: Roi, mirror = false): Promise<{ mesh: Point3[]; score: number } | null> {
    const r = roiMatrix(roi, MESH_SIZE);
    const m: Matrix2x3 = mirror ? [[-r[0][0], -r[0][1], MESH_SIZE - 1 - r[0][2]], r[1]] : r;
    const input = warpToFloat(pyr, m, MESH_SIZE, MESH_SIZE, { mul: 1 / 255, add: 0, out: this.input(MESH_SIZE) });
    const [meshT, scoreT] = tf.tidy(() => {
      const res = this.models.facemesh.execute(tf.tensor4d(input, [1, MESH_SIZE, MESH_SIZE, 3])) as tf.Tensor[];
      const mesh = res.find((t) => t.shape[t.shape.length - 1] === 1404)!;
      const score = res.find((t) => t.shape[t.shape.length - 1] === 1)!;
      return [tf.clone(mesh), tf.clone(score)];
    });
    const raw = await meshT!.data();
    const score = (await scoreT!.data())[0]!;
    tf.dispose([meshT!, scoreT!]);
    const inv = invertMatrix(m);
    const zScale = roi.size / MESH_SIZE;
    const mesh: Point3[] = new Array(468);
    for (let i = 0; i < 468; i++) {
      const p = applyMatrix(inv, [raw[3 * i]! - 0.5, raw[3 * i + 1]! - 0.5]);
      mesh[i] = [p[0], p[1], raw[3 * i + 2]! * zScale];
    }
    return { mesh, score };
  }

  /** Mesh from a starting region plus `passes` refinements from the mesh's own region. */
  async meshFrom(
    pyr: ImagePyramid,
    roi: Roi,
    passes: number,
    minScore: number,
  ): Promise<{ mesh: Point3[]; score: number; roi: Roi } | null> {
    let cur = roi;
    let r = await this.meshAt(pyr, cur);
    if (!r || r.score < minScore) return null;
    for (let k = 0; k < passes; k++) {
      const next = roiFromMesh(r.mesh);
      const r2 = await this.meshAt(pyr, next);
      if (!r2 || r2.score < minScore) break;
      r = r2;
      cur = next;
    }
    return { ...r, roi: cur };
  }

  /** The 68 points of the mirrored crop of `roi`, relabelled to the subject's sides; null when no face. */
  async mirroredLandmarks(pyr: ImagePyramid, roi: Roi, minScore: number): Promise<Point2[] | null> {
    const r = await this.meshAt(pyr, roi, true);
    return r && r.score >= minScore ? mirroredIbug68(r.mesh) : null;
  }

  /** Every face of an image (photos, or the detection frames of a video). */
  async detect(pyr: ImagePyramid, opts: DetectOptions = DEFAULT_DETECT): Promise<MeshFace[]> {
    return this.facesOf(pyr, await this.candidates(pyr, opts), opts);
  }

  /**
   * The faces in one square region of the frame, `[x, y, side]` in source pixels (clamped by the caller): one
   * BlazeFace run instead of the whole frame and its tiles, for a face known to be near (a swapped frame's face
   * where the original's is). Faces whose box reaches past the region are found too when the detector sees them.
   */
  async detectIn(
    pyr: ImagePyramid,
    region: readonly [number, number, number],
    opts: DetectOptions = DEFAULT_DETECT,
  ): Promise<MeshFace[]> {
    return this.facesOf(pyr, await this.regionCandidates(pyr, [region], opts), opts);
  }

  /** Mesh (and refinement) on each candidate; deduplicated, size-filtered faces. */
  private async facesOf(pyr: ImagePyramid, cands: Candidate[], opts: DetectOptions): Promise<MeshFace[]> {
    const faces: MeshFace[] = [];
    for (const c of cands.slice(0, opts.maxFaces * 2)) {
      const [kr, kl] = c.keypoints;
      const angle = kr && kl ? Math.atan2(kl[1] - kr[1], kl[0] - kr[0]) : 0;
      const roi: Roi = {
        cx: c.box[0] + c.box[2] / 2,
        cy: c.box[1] + c.box[3] / 2,
        size: Math.max(c.box[2], c.box[3]) * ROI_SCALE,
        angle,
      };
      const r = await this.meshFrom(pyr, roi, opts.refinePasses, opts.minMeshScore);
      if (!r) continue;
      const mirrored = opts.mirror ? await this.mirroredLandmarks(pyr, r.roi, 0) : null;
      faces.push(this.toFace(r.mesh, c.score, r.score, r.roi, mirrored));
    }
    return dedupeFaces(faces)
      .filter((f) => Math.max(f.box[2], f.box[3]) >= opts.minFaceSize)
      .slice(0, opts.maxFaces);
  }

  /** Follows a face from its previous region (video); null when the face is lost. */
  async track(pyr: ImagePyramid, prev: MeshFace, opts: DetectOptions = DEFAULT_DETECT): Promise<MeshFace | null> {
    const roi = roiFromMesh(prev.mesh);
    const r = await this.meshFrom(pyr, roi, 0, opts.trackMinMeshScore);
    if (!r) return null;
    const mirrored = opts.mirror ? await this.mirroredLandmarks(pyr, roi, 0) : null;
    return this.toFace(r.mesh, prev.detScore, r.score, roiFromMesh(r.mesh), mirrored);
  }

  /**
   * A face from its mesh; with the mirrored pass's landmarks, the 68 points are the mean of both and each point's
   * confidence is how well the two agree (`pointConfidence`).
   */
  toFace(mesh: Point3[], detScore: number, meshScore: number, roi: Roi, mirrored?: Point2[] | null): MeshFace {
    const direct = meshToIbug68(mesh);
    const landmarks68 = mirrored
      ? direct.map((p, i) => [(p[0] + mirrored[i]![0]) / 2, (p[1] + mirrored[i]![1]) / 2] as Point2)
      : direct;
    return {
      mesh,
      landmarks68,
      detScore,
      meshScore,
      box: bbox(landmarks68),
      roi,
      ...(mirrored ? { confidence: pointConfidence(direct, mirrored) } : {}),
    };
  }

  /** Human's faceres identity embedding of a face (1024 floats). */
  async descriptor(pyr: ImagePyramid, face: Pick<MeshFace, 'mesh'>): Promise<Float32Array> {
    // Human feeds faceres its mesh crop (detector box x1.4, levelled); the mesh extent is larger than the
    // detector box, so 1.2x of it frames the face about the same.
    const roi = roiFromMesh(face.mesh, 1.2);
    const input = warpToFloat(pyr, roiMatrix(roi, DESC_SIZE), DESC_SIZE, DESC_SIZE, {
      mul: 1,
      add: 0,
      out: this.input(DESC_SIZE),
    });
    const descT = tf.tidy(() => {
      const res = this.models.faceres.execute(tf.tensor4d(input, [1, DESC_SIZE, DESC_SIZE, 3])) as tf.Tensor[];
      return tf.clone(res.find((t) => t.shape[1] === 1024)!);
    });
    const d = (await descT.data()) as Float32Array;
    descT.dispose();
    return Float32Array.from(d);
  }
}

/** Weighted NMS (MediaPipe's): overlapping candidates are averaged by score into the best one. */
export function weightedNms(cands: Candidate[], iouThreshold: number): Candidate[] {
  const sorted = [...cands].sort((a, b) => b.score - a.score);
  const used = new Array<boolean>(sorted.length).fill(false);
  const out: Candidate[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (used[i]) continue;
    const best = sorted[i]!;
    const group: Candidate[] = [];
    for (let j = i; j < sorted.length; j++) {
      if (used[j]) continue;
      if (j === i || iou(best.box, sorted[j]!.box) > iouThreshold) {
        used[j] = true;
        group.push(sorted[j]!);
      }
    }
    const wsum = group.reduce((s, g) => s + g.score, 0);
    const box = [0, 0, 0, 0].map((_, k) => group.reduce((s, g) => s + g.box[k]! * g.score, 0) / wsum) as BoxXYWH;
    const keypoints = best.keypoints.map((_, k) => [
      group.reduce((s, g) => s + g.keypoints[k]![0] * g.score, 0) / wsum,
      group.reduce((s, g) => s + g.keypoints[k]![1] * g.score, 0) / wsum,
    ]) as Point2[];
    out.push({ box, score: best.score, keypoints });
  }
  return out;
}

/** Two candidates that converged on the same face keep the one with the better mesh score. */
function dedupeFaces(faces: MeshFace[]): MeshFace[] {
  const sorted = [...faces].sort((a, b) => b.meshScore * b.detScore - a.meshScore * a.detScore);
  const out: MeshFace[] = [];
  for (const f of sorted)
    if (!out.some((o) => iou(o.box, f.box) > 0.4 || overlapOfSmaller(o.box, f.box) > 0.6)) out.push(f);
  return out;
}
