/**
 * The `evaluate` stage: compares a swapped video with its original, frame by frame, and measures identity,
 * pose, expression, temporal stability and (given the model and held-out faces) reconstruction. Every
 * measurement comes from @vladmandic/human's detector, mesh and descriptor plus the plain formulas of
 * metrics.ts: nothing the trainer optimises. Definitions: docs/quality.md.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { QUALITY_VERSION, qualityVerdict, type QualityReport } from '../../../src-shared/formats/quality';
import { RateMeter } from '../../../src-shared/progress';
import type { EvaluateOptions } from '../../../src-shared/stages/evaluate';
import { convexHull, fillConvexPolygon } from '../image/raster';
import { DEFAULT_DETECT, FaceDetector, overlapOfSmaller, type MeshFace } from '../face/detector';
import { loadFaceModels } from '../face/human';
import { ImagePyramid } from '../face/image';
import type { BoxXYWH, Point2, RgbImage } from '../face/types';
import { decodeFrames, type Frame } from '../media/decode';
import { isImagePath, listImages, readImage } from '../media/images';
import { probeVideo } from '../media/probe';
import { throwIfCancelled, type StageContext } from '../stage';
import { writeJsonAtomic } from '../util/atomic-write';
import {
  angleDiff,
  cosine,
  expressionRatios,
  laplacianVariance,
  landmarkJitter,
  meanDescriptor,
  psnr,
  ssim,
  summarise,
} from './metrics';
import { poseFromLandmarks } from './pose';

/** Mesh score accepted for the face of a swapped frame (found where the original face is). */
const MIN_SWAPPED_MESH_SCORE = 0.5;

/** At most this many reference images per identity (evenly spread) go into its mean descriptor. */
const MAX_REFERENCES = 40;

export async function runEvaluate(o: EvaluateOptions, ctx: StageContext): Promise<QualityReport> {
  const [origInfo, swapInfo] = await Promise.all([probeVideo(o.original), probeVideo(o.swapped)]);
  if (
    Math.abs(origInfo.frameCount - swapInfo.frameCount) > 1 ||
    origInfo.width !== swapInfo.width ||
    origInfo.height !== swapInfo.height
  ) {
    throw new UserError(
      'mismatch',
      `${o.swapped}: does not match ${basename(o.original)} (${swapInfo.width}x${swapInfo.height}, ${swapInfo.frameCount} frames vs ${origInfo.width}x${origInfo.height}, ${origInfo.frameCount} frames)`,
      o.swapped,
    );
  }
  const models = await loadFaceModels();
  const detector = new FaceDetector(models);

  ctx.progress({ stage: 'evaluate', fraction: 0, title: 'Reading the identities' });
  const srcMean = await identityMean(detector, o.sourceFaces, ctx);
  const tgtMean = await identityMean(detector, o.targetFaces, ctx);

  const total = Math.min(origInfo.frameCount, swapInfo.frameCount);
  const meter = new RateMeter();
  const perFrame: QualityReport['perFrame'] = [];
  const simT: number[] = [];
  const simS: number[] = [];
  const margin: number[] = [];
  const sharpRatio: number[] = [];
  const lapO: number[] = [];
  const lapS: number[] = [];
  const detO: number[] = [];
  const detS: number[] = [];
  let retrieved = 0;
  const poseErr: number[] = [];
  const yaw: number[] = [];
  const pitch: number[] = [];
  const roll: number[] = [];
  const exprErr: number[] = [];
  const mouth: number[] = [];
  const eyes: number[] = [];
  const brows: number[] = [];
  const origTrack: Point2[][] = [];
  const swapTrack: Point2[][] = [];
  const jitterO: number[] = [];
  const jitterS: number[] = [];
  const flickerO: number[] = [];
  const flickerS: number[] = [];
  let measured = 0;
  let withBoth = 0;
  let prevO: MeshFace | undefined;
  let prevFrames: { o: Frame; s: Frame; box: BoxXYWH } | undefined;

  const origIt = decodeFrames(o.original, { signal: ctx.signal });
  const swapIt = decodeFrames(o.swapped, { signal: ctx.signal });
  try {
    for (let i = 0; i < total; i++) {
      throwIfCancelled(ctx.signal);
      const [a, b] = await Promise.all([origIt.next(), swapIt.next()]);
      if (a.done || b.done) break;
      if (i % o.everyN !== 0) continue;
      measured++;
      // Found (and tracked) in the original; then both faces are measured by the mesh in that same region, so an
      // unmodified frame measures exactly like the original.
      // One pyramid per frame: detection, mesh and descriptor share its halvings.
      const pyrO = new ImagePyramid(rgb(a.value));
      const pyrS = new ImagePyramid(rgb(b.value));
      const found = await findFace(detector, pyrO, prevO);
      prevO = found;
      const fo = found ? await faceAt(detector, pyrO, found) : undefined;
      const fs = found ? await faceAt(detector, pyrS, found) : undefined;
      const row: QualityReport['perFrame'][number] = {
        frame: i,
        similarityToTarget: null,
        poseErrorDeg: null,
        expressionError: null,
        sharpness: null,
      };
      if (fo) {
        // Sharpness and the detector's confidence are measured wherever the original has a face, so a swap too
        // blurry for the mesh to find still counts (as blurry, unrecognised).
        const [vo, vs] = hullSharpness(a.value, b.value, fo.landmarks68);
        lapO.push(vo);
        lapS.push(vs);
        const ratio = vo > 0 ? vs / vo : NaN;
        sharpRatio.push(ratio);
        if (Number.isFinite(ratio)) row.sharpness = ratio;
        detO.push(await detector.verifyScore(pyrO, fo.mesh));
        detS.push(await detector.verifyScore(pyrS, fo.mesh));
      }
      if (fo && fs) {
        withBoth++;
        const d = await detector.descriptor(pyrS, fs);
        const st = cosine(d, tgtMean);
        const ss = cosine(d, srcMean);
        simT.push(st);
        simS.push(ss);
        margin.push(st - ss);
        if (st > ss) retrieved++;
        const po = poseFromLandmarks(fo.landmarks68);
        const ps = poseFromLandmarks(fs.landmarks68);
        const dy = Math.abs(angleDiff(ps.yaw, po.yaw));
        const dp = Math.abs(angleDiff(ps.pitch, po.pitch));
        const dr = Math.abs(angleDiff(ps.roll, po.roll));
        yaw.push(dy);
        pitch.push(dp);
        roll.push(dr);
        poseErr.push((dy + dp + dr) / 3);
        const eo = expressionRatios(fo.landmarks68);
        const es = expressionRatios(fs.landmarks68);
        const [dm, de, db] = [
          Math.abs(es.mouth - eo.mouth),
          Math.abs(es.eyes - eo.eyes),
          Math.abs(es.brows - eo.brows),
        ];
        mouth.push(dm);
        eyes.push(de);
        brows.push(db);
        exprErr.push((dm + de + db) / 3);
        Object.assign(row, {
          similarityToTarget: st,
          poseErrorDeg: (dy + dp + dr) / 3,
          expressionError: (dm + de + db) / 3,
        });
        if (o.everyN === 1) {
          origTrack.push(fo.landmarks68);
          swapTrack.push(fs.landmarks68);
          if (origTrack.length >= 2) {
            jitterO.push(...landmarkJitter(origTrack.slice(-2)));
            jitterS.push(...landmarkJitter(swapTrack.slice(-2)));
          }
          if (prevFrames) {
            const box = prevFrames.box;
            flickerO.push(boxFlicker(prevFrames.o, a.value, box));
            flickerS.push(boxFlicker(prevFrames.s, b.value, box));
          }
          prevFrames = { o: a.value, s: b.value, box: fo.box };
        }
      } else {
        origTrack.length = 0;
        swapTrack.length = 0;
        prevFrames = undefined;
      }
      perFrame.push(row);
      const rate = meter.update(i + 1, Date.now());
      ctx.progress({
        stage: 'evaluate',
        fraction: 0.05 + (0.9 * (i + 1)) / total,
        title: 'Measuring frames',
        done: i + 1,
        total,
        rate,
        rateUnit: 'frames/s',
        etaMs: meter.etaMs(total - i - 1),
      });
    }
  } finally {
    await origIt.return(undefined);
    await swapIt.return(undefined);
  }
  if (withBoth === 0) throw new UserError('no-faces', `${o.original}: no frame with a face in both videos`, o.original);

  const mean = (v: number[]) => (v.length ? v.reduce((x, y) => x + y, 0) / v.length : 0);
  const body: Omit<QualityReport, 'version' | 'created' | 'verdict'> = {
    inputs: {
      original: o.original,
      swapped: o.swapped,
      sourceFaces: o.sourceFaces,
      targetFaces: o.targetFaces,
      ...(o.model ? { model: o.model } : {}),
    },
    frames: { total, measured, withFaceBoth: withBoth },
    identity: {
      similarityToTarget: summarise(simT),
      similarityToSource: summarise(simS),
      retrievalToTarget: retrieved / withBoth,
      margin: mean(margin),
    },
    sharpness: {
      ratio: median(sharpRatio),
      perFrame: summarise(sharpRatio),
      laplacianOriginal: median(lapO),
      laplacianSwapped: median(lapS),
    },
    detection: { swappedScore: summarise(detS), originalScore: summarise(detO) },
    pose: {
      errorDeg: summarise(poseErr),
      yawDeg: summarise(yaw),
      pitchDeg: summarise(pitch),
      rollDeg: summarise(roll),
    },
    expression: { error: summarise(exprErr), mouth: summarise(mouth), eyes: summarise(eyes), brows: summarise(brows) },
    temporal: {
      jitter: mean(jitterS) - mean(jitterO),
      jitterSwapped: mean(jitterS),
      jitterOriginal: mean(jitterO),
      flicker: mean(flickerS) - mean(flickerO),
      flickerSwapped: mean(flickerS),
      flickerOriginal: mean(flickerO),
    },
    perFrame,
  };
  const report: QualityReport = {
    version: QUALITY_VERSION,
    created: new Date().toISOString(),
    verdict: qualityVerdict(body),
    ...body,
  };
  if (o.model && o.holdoutA && o.holdoutB) {
    ctx.progress({ stage: 'evaluate', fraction: 0.96, title: 'Reconstruction on held-out faces' });
    report.reconstruction = await reconstruction(o.model, o.holdoutA, o.holdoutB, ctx);
  }
  const out = o.report ?? `${o.swapped}.quality.json`;
  await writeJsonAtomic(out, report);
  ctx.log('info', `quality report written to ${out}`);
  ctx.progress({ stage: 'evaluate', fraction: 1, title: 'Done', done: total, total });
  return report;
}

function median(values: readonly number[]): number {
  const v = values.filter(Number.isFinite).sort((x, y) => x - y);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
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

/** The largest face of a frame (or the one overlapping `near`), tracked from the previous frame when possible. */
async function findFace(
  detector: FaceDetector,
  pyr: ImagePyramid,
  prev: MeshFace | undefined,
  near?: BoxXYWH,
): Promise<MeshFace | undefined> {
  if (prev) {
    const t = await detector.track(pyr, prev, DEFAULT_DETECT);
    if (t && (!near || overlapOfSmaller(t.box, near) > 0.3)) return t;
  }
  const faces = await detector.detect(pyr, DEFAULT_DETECT);
  const pool = near ? faces.filter((f) => overlapOfSmaller(f.box, near) > 0.3) : faces;
  return pool.sort((x, y) => y.box[2] * y.box[3] - x.box[2] * x.box[3])[0];
}

/**
 * The swapped frame's face where the original's is: the mesh is predicted in exactly the original face's region
 * (so an unmodified frame gives the original's landmarks), with a low bar on the mesh score, since a swapped
 * (possibly still blurry) face is there by construction; a fresh detection is the fallback.
 */
async function faceAt(detector: FaceDetector, pyr: ImagePyramid, original: MeshFace): Promise<MeshFace | undefined> {
  const m = await detector.meshAt(pyr, original.roi);
  if (m && m.score >= MIN_SWAPPED_MESH_SCORE) return detector.toFace(m.mesh, original.detScore, m.score, original.roi);
  return findFace(detector, pyr, undefined, original.box);
}

/** Mean absolute change (8-bit levels) between two frames inside a box. */
function boxFlicker(prev: Frame, next: Frame, box: BoxXYWH): number {
  const x0 = Math.max(0, Math.floor(box[0]));
  const y0 = Math.max(0, Math.floor(box[1]));
  const x1 = Math.min(prev.width, Math.ceil(box[0] + box[2]));
  const y1 = Math.min(prev.height, Math.ceil(box[1] + box[3]));
  let s = 0;
  let n = 0;
  for (let y = y0; y < y1; y++) {
    for (let i = (y * prev.width + x0) * 3; i < (y * prev.width + x1) * 3; i++) {
      s += Math.abs((prev.data[i] as number) - (next.data[i] as number));
      n++;
    }
  }
  return n ? s / n : 0;
}

/** Mean descriptor of an identity from photos or aligned faces (files or folders). */
async function identityMean(detector: FaceDetector, paths: string[], ctx: StageContext): Promise<number[]> {
  const files: string[] = [];
  for (const p of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new UserError('not-found', `${p}: not found`, p);
    if (st.isDirectory()) files.push(...(await listImages(p)));
    else if (isImagePath(p)) files.push(p);
    else throw new UserError('bad-media', `${p}: not an image or a folder of images`, p);
  }
  if (files.length === 0) throw new UserError('no-images', `${paths.join(', ') || '(none given)'}: no identity images`);
  const step = Math.max(1, files.length / MAX_REFERENCES);
  const picked = Array.from(
    { length: Math.min(files.length, MAX_REFERENCES) },
    (_, k) => files[Math.floor(k * step)] as string,
  );
  const ds: Float32Array[] = [];
  for (const f of picked) {
    throwIfCancelled(ctx.signal);
    const img = await readImage(f);
    const pyr = new ImagePyramid({ width: img.width, height: img.height, data: img.data });
    const faces = await detector.detect(pyr, DEFAULT_DETECT);
    const face = faces.sort((x, y) => y.box[2] * y.box[3] - x.box[2] * x.box[3])[0];
    if (face) ds.push(await detector.descriptor(pyr, face));
  }
  if (ds.length === 0) throw new UserError('no-faces', `${paths.join(', ')}: no face found in the identity images`);
  ctx.log(
    'info',
    `identity from ${ds.length} of ${picked.length} images (${paths.map((p) => basename(p)).join(', ')})`,
  );
  return meanDescriptor(ds);
}

/** SSIM and PSNR of A->A and B->B on held-out aligned faces, at the model's resolution. */
async function reconstruction(
  modelDir: string,
  dirA: string,
  dirB: string,
  ctx: StageContext,
): Promise<NonNullable<QualityReport['reconstruction']>> {
  const { loadFaceModel } = await import('../train/predict');
  const model = await loadFaceModel(modelDir);
  try {
    const side = async (dir: string, direction: 'a-to-a' | 'b-to-b') => {
      const files = (await listImages(dir)).slice(0, 64);
      const S = model.size;
      const ss: number[] = [];
      const ps: number[] = [];
      for (const f of files) {
        throwIfCancelled(ctx.signal);
        const img = await readImage(f);
        const crop = centreCrop(img, model.coverage, S);
        const input = Float32Array.from(crop, (v) => v / 255);
        const out = model.predict(input, 1, direction).face;
        const rec = Uint8Array.from(out, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
        ss.push(ssim(crop, rec, S, S));
        ps.push(psnr(crop, rec));
      }
      return { ssim: summarise(ss).mean, psnr: summarise(ps).mean, n: files.length };
    };
    const a = await side(dirA, 'a-to-a');
    const b = await side(dirB, 'b-to-b');
    return {
      ssim: (a.ssim + b.ssim) / 2,
      psnr: (a.psnr + b.psnr) / 2,
      ssimA: a.ssim,
      ssimB: b.ssim,
      psnrA: a.psnr,
      psnrB: b.psnr,
      faces: { A: a.n, B: b.n },
    };
  } finally {
    model.dispose();
  }
}

/** The centre `coverage` of an aligned face, resized to S x S (nearest-box average; faces are already aligned). */
function centreCrop(img: { width: number; height: number; data: Uint8Array }, coverage: number, S: number): Uint8Array {
  const side = img.width * coverage;
  const off = (img.width - side) / 2;
  const out = new Uint8Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const sx = Math.min(img.width - 1, Math.floor(off + ((x + 0.5) * side) / S));
      const sy = Math.min(img.height - 1, Math.floor(off + ((y + 0.5) * side) / S));
      for (let c = 0; c < 3; c++) out[(y * S + x) * 3 + c] = img.data[(sy * img.width + sx) * 3 + c] as number;
    }
  }
  return out;
}
