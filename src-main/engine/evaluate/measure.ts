/**
 * The frame measurements of the quality report (run.ts) over a range of frames: the original's face found and
 * tracked, both faces measured by the mesh in its region, identity, pose, expression, sharpness, detector scores,
 * and the frame-to-frame flicker. A range starts one measured frame early (not reported) so that its first frame
 * is tracked and has a previous frame, as it would in one pass; ranges are fixed by the clip alone, so any number
 * of workers (measure-worker.ts) reports what one does. The running statistics are summed in run.ts, in order.
 * The same threads first read the identities' images (`describe`), whose mean descriptors run.ts hands back to
 * every thread (`identities`) before the frames are measured.
 */
import { convexHull, fillConvexPolygon } from '../image/raster';
import { DEFAULT_DETECT, FaceDetector, overlapOfSmaller, roiFromMesh, type MeshFace, type Roi } from '../face/detector';
import { loadFaceModels, type FaceBackend } from '../face/human';
import { ImagePyramid } from '../face/image';
import type { BoxXYWH, Point2, RgbImage } from '../face/types';
import { decodeFrames, type Frame } from '../media/decode';
import { readImage } from '../media/images';
import { throwIfCancelled } from '../stage';
import { angleDiff, cosine, expressionRatios, laplacianVariance } from './metrics';
import { poseFromLandmarks } from './pose';

/** Mesh score accepted for the face of a swapped frame (found where the original face is). */
const MIN_SWAPPED_MESH_SCORE = 0.5;

/** Frames [from, end), one in `every`; those before `start` only prime the tracking. */
export interface MeasureRange {
  chunk: number;
  from: number;
  start: number;
  end: number;
  every: number;
}

/**
 * Whether frame `index` carries the identity measurements (descriptor, detector scores): one measured frame in
 * `identityEvery`, by the frame's index alone, so that every split into ranges and workers samples the same frames.
 */
function identityFrame(index: number, every: number, identityEvery: number): boolean {
  return index % (every * identityEvery) === 0;
}

export interface MeasureSetup {
  original: string;
  swapped: string;
  /** Identity and detector scores on one measured frame in this many (`identityFrame`). */
  identityEvery: number;
  /** Where the face models run (the stage resolved `auto`). */
  backend: FaceBackend;
}

/** One measured frame. */
export interface FrameMeasure {
  frame: number;
  /** Where the original has a face: sharpness (Laplacian variances) and, on identity frames, detector scores. */
  orig?: { lapO: number; lapS: number; det?: [number, number] };
  /** Where both have one. */
  both?: {
    /** On identity frames (`identityFrame`): similarity to the target's and the source's mean descriptor. */
    sim?: [number, number];
    dy: number;
    dp: number;
    dr: number;
    dm: number;
    de: number;
    db: number;
    lmO: Point2[];
    lmS: Point2[];
    /** Flicker against the previous frame (every frame measured, previous frame with both faces). */
    flicker?: [number, number];
  };
}

/** The mean descriptors of the identity replaced (source, A) and the one swapped in (target, B). */
export interface IdentityMeans {
  srcMean: number[];
  tgtMean: number[];
}

export class Measurer {
  private detector: FaceDetector | null = null;
  private setup: MeasureSetup | null = null;
  private means: IdentityMeans | null = null;

  constructor(
    private readonly onFrame: () => void,
    private readonly signal?: AbortSignal,
  ) {}

  async init(setup: MeasureSetup): Promise<void> {
    this.setup = setup;
    this.detector = new FaceDetector(await loadFaceModels(setup.backend));
  }

  /** The descriptor of each identity image's face (null: none found), in order. */
  async describe(files: string[]): Promise<Array<number[] | null>> {
    const detector = this.detector;
    if (!detector) throw new Error('measurer used before init');
    const out: Array<number[] | null> = [];
    for (const f of files) {
      if (this.signal) throwIfCancelled(this.signal);
      const img = await readImage(f);
      const pyr = new ImagePyramid({ width: img.width, height: img.height, data: img.data });
      const face = await identityFace(detector, pyr);
      out.push(face ? Array.from(await detector.descriptor(pyr, face)) : null);
    }
    return out;
  }

  identities(means: IdentityMeans): Promise<void> {
    this.means = means;
    return Promise.resolve();
  }

  async measure(r: MeasureRange): Promise<FrameMeasure[]> {
    const detector = this.detector,
      s = this.setup,
      means = this.means;
    if (!detector || !s || !means) throw new Error('measurer used before init and identities');
    // One decoder thread each: two decoders per worker and a worker per core keep every core busy anyway. Each
    // frame is done with before the next is asked for (the flicker keeps a crop): decoded into one buffer each.
    const o = {
      start: r.from,
      end: r.end,
      every: r.every,
      threads: 1,
      recycle: true,
      ...(this.signal ? { signal: this.signal } : {}),
    };
    const origIt = decodeFrames(s.original, o);
    const swapIt = decodeFrames(s.swapped, o);
    const out: FrameMeasure[] = [];
    let prevO: MeshFace | undefined;
    /** The previous frame's face box, of both frames: the flicker's reference (the frames themselves are recycled). */
    let prevFrames: { o: Uint8Array; s: Uint8Array; box: PixelBox } | undefined;
    try {
      for (;;) {
        if (this.signal) throwIfCancelled(this.signal);
        const [a, b] = await Promise.all([origIt.next(), swapIt.next()]);
        if (a.done || b.done) break;
        const i = a.value.index;
        // Found (and tracked) in the original; the swapped face is measured by the mesh in the region the original's
        // was predicted in, so an unmodified frame measures exactly like the original. One pyramid per frame:
        // detection, mesh and descriptor share its halvings.
        const pyrO = new ImagePyramid(rgb(a.value));
        const pyrS = new ImagePyramid(rgb(b.value));
        const found = await findFace(detector, pyrO, prevO);
        prevO = found?.face;
        const fo = found?.face;
        const fs = found ? await faceAt(detector, pyrS, { ...found.face, roi: found.roi }) : undefined;
        const m: FrameMeasure = { frame: i };
        // The descriptor and the two detector runs are most of a frame's cost: on identity frames only.
        const idFrame = i >= r.start && identityFrame(i, r.every, s.identityEvery);
        if (fo) {
          // Sharpness and the detector's confidence are measured wherever the original has a face, so a swap too
          // blurry for the mesh to find still counts (as blurry, unrecognised).
          const [lapO, lapS] = hullSharpness(a.value, b.value, fo.landmarks68);
          m.orig = { lapO, lapS };
          if (idFrame)
            m.orig.det = [await detector.verifyScore(pyrO, fo.mesh), await detector.verifyScore(pyrS, fo.mesh)];
        }
        if (fo && fs) {
          const po = poseFromLandmarks(fo.landmarks68);
          const ps = poseFromLandmarks(fs.landmarks68);
          const eo = expressionRatios(fo.landmarks68);
          const es = expressionRatios(fs.landmarks68);
          m.both = {
            dy: Math.abs(angleDiff(ps.yaw, po.yaw)),
            dp: Math.abs(angleDiff(ps.pitch, po.pitch)),
            dr: Math.abs(angleDiff(ps.roll, po.roll)),
            dm: Math.abs(es.mouth - eo.mouth),
            de: Math.abs(es.eyes - eo.eyes),
            db: Math.abs(es.brows - eo.brows),
            lmO: fo.landmarks68,
            lmS: fs.landmarks68,
          };
          if (idFrame) {
            const d = await detector.descriptor(pyrS, fs);
            m.both.sim = [cosine(d, means.tgtMean), cosine(d, means.srcMean)];
          }
          if (r.every === 1) {
            if (prevFrames) {
              const box = prevFrames.box;
              m.both.flicker = [boxFlicker(prevFrames.o, a.value, box), boxFlicker(prevFrames.s, b.value, box)];
            }
            const box = pixelBox(fo.box, a.value.width, a.value.height);
            prevFrames = { o: cropBox(a.value, box), s: cropBox(b.value, box), box };
          }
        } else {
          prevFrames = undefined;
        }
        if (i < r.start) continue;
        out.push(m);
        this.onFrame();
      }
    } finally {
      await origIt.return(undefined);
      await swapIt.return(undefined);
    }
    return out;
  }
}

/** Variance of the Laplacian of the original and the swapped frame inside the hull of the original's landmarks. */
function hullSharpness(orig: Frame, swapped: Frame, landmarks: readonly Point2[]): [number, number] {
  // Only the hull's box (plus the Laplacian's one-pixel border) is cropped and measured.
  const xs = landmarks.map((p) => p[0]);
  const ys = landmarks.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)) - 1);
  const y0 = Math.max(0, Math.floor(Math.min(...ys)) - 1);
  const x1 = Math.min(orig.width, Math.ceil(Math.max(...xs)) + 2);
  const y1 = Math.min(orig.height, Math.ceil(Math.max(...ys)) + 2);
  const w = x1 - x0;
  const h = y1 - y0;
  if (w < 3 || h < 3) return [NaN, NaN];
  const mask = fillConvexPolygon(convexHull(landmarks.map((p) => [p[0] - x0, p[1] - y0] as Point2)), w, h);
  const crop = (f: Frame) => {
    const out = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++)
      out.set(f.data.subarray(((y0 + y) * f.width + x0) * 3, ((y0 + y) * f.width + x1) * 3), y * w * 3);
    return out;
  };
  return [laplacianVariance(crop(orig), w, h, mask), laplacianVariance(crop(swapped), w, h, mask)];
}

function rgb(f: Frame): RgbImage {
  return { width: f.width, height: f.height, data: f.data };
}

/**
 * The largest face of a frame, tracked from the previous frame when possible, and the region its mesh was
 * predicted in (the swapped frame's is predicted in the same one: faceAt).
 */
async function findFace(
  detector: FaceDetector,
  pyr: ImagePyramid,
  prev: MeshFace | undefined,
): Promise<{ face: MeshFace; roi: Roi } | undefined> {
  if (prev) {
    const t = await detector.track(pyr, prev, DEFAULT_DETECT);
    // track predicts the mesh in the previous mesh's region (its face's `roi` is the next frame's).
    if (t) return { face: t, roi: roiFromMesh(prev.mesh) };
  }
  const face = largest(await detector.detect(pyr, DEFAULT_DETECT));
  return face && { face, roi: face.roi };
}

function largest(faces: MeshFace[]): MeshFace | undefined {
  return faces.sort((x, y) => y.box[2] * y.box[3] - x.box[2] * x.box[3])[0];
}

/** The square around a box, `scale` times its longer side, moved (not cut) to lie inside the frame where it fits. */
export function regionAround(box: BoxXYWH, width: number, height: number, scale = 2): [number, number, number] {
  const side = Math.min(Math.max(box[2], box[3]) * scale, Math.max(width, height));
  const place = (c: number, extent: number) =>
    side >= extent ? (extent - side) / 2 : Math.min(extent - side, Math.max(0, c - side / 2));
  return [place(box[0] + box[2] / 2, width), place(box[1] + box[3] / 2, height), side];
}

/**
 * The swapped frame's face where the original's is: the mesh is predicted in exactly the original face's region
 * (so an unmodified frame gives the original's landmarks), with a low bar on the mesh score, since a swapped
 * (possibly still blurry) face is there by construction; the fallback is a detection in the square twice the
 * original face's size around it (one detector run, not the whole frame and its tiles), keeping a face that
 * overlaps the original's box.
 */
export async function faceAt(
  detector: FaceDetector,
  pyr: ImagePyramid,
  original: MeshFace,
): Promise<MeshFace | undefined> {
  const m = await detector.meshAt(pyr, original.roi);
  if (m && m.score >= MIN_SWAPPED_MESH_SCORE) return detector.toFace(m.mesh, original.detScore, m.score, original.roi);
  const near = await detector.detectIn(pyr, regionAround(original.box, pyr.width, pyr.height), DEFAULT_DETECT);
  return largest(near.filter((f) => overlapOfSmaller(f.box, original.box) > 0.3));
}

/** A box's whole pixels inside the frame: [x0, x1) x [y0, y1). */
interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

function pixelBox(box: BoxXYWH, width: number, height: number): PixelBox {
  const x0 = Math.max(0, Math.floor(box[0]));
  const y0 = Math.max(0, Math.floor(box[1]));
  return {
    x0,
    y0,
    x1: Math.max(x0, Math.min(width, Math.ceil(box[0] + box[2]))),
    y1: Math.max(y0, Math.min(height, Math.ceil(box[1] + box[3]))),
  };
}

/** The RGB rows of a frame inside a box, packed. */
function cropBox(f: Frame, b: PixelBox): Uint8Array {
  const row = (b.x1 - b.x0) * 3;
  const out = new Uint8Array(row * (b.y1 - b.y0));
  for (let y = b.y0; y < b.y1; y++)
    out.set(f.data.subarray((y * f.width + b.x0) * 3, (y * f.width + b.x1) * 3), (y - b.y0) * row);
  return out;
}

/** Mean absolute change (8-bit levels) inside a box between the previous frame's crop of it and a frame. */
function boxFlicker(prev: Uint8Array, next: Frame, b: PixelBox): number {
  const row = (b.x1 - b.x0) * 3;
  let s = 0;
  for (let y = b.y0; y < b.y1; y++) {
    const p = (y - b.y0) * row;
    const q = (y * next.width + b.x0) * 3;
    for (let i = 0; i < row; i++) s += Math.abs((prev[p + i] as number) - (next.data[q + i] as number));
  }
  const n = row * (b.y1 - b.y0);
  return n ? s / n : 0;
}

/**
 * The face of an identity image. An aligned face (square, as extract writes them) has its face in the middle: the
 * mesh from the whole image, refined once, at detection's bar, skips the detector (descriptor within 0.997 cosine
 * of the detected face's on the 720p clip's faces); anything else (a photo, a face the mesh rejects) is detected.
 */
async function identityFace(detector: FaceDetector, pyr: ImagePyramid): Promise<MeshFace | undefined> {
  if (pyr.width === pyr.height) {
    const roi = { cx: pyr.width / 2, cy: pyr.height / 2, size: pyr.width, angle: 0 };
    const r = await detector.meshFrom(pyr, roi, DEFAULT_DETECT.refinePasses, DEFAULT_DETECT.minMeshScore);
    if (r) return detector.toFace(r.mesh, 1, r.score, r.roi);
  }
  const faces = await detector.detect(pyr, DEFAULT_DETECT);
  return faces.sort((x, y) => y.box[2] * y.box[3] - x.box[2] * x.box[3])[0];
}
