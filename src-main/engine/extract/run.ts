/**
 * The extract stage runner: source -> faces (detect/track, 68 landmarks, smoothing on video) -> identity and
 * size/blur filters -> aligned PNG crops + alignments file (written atomically every few seconds, on cancel and
 * at the end, so an interrupted run leaves a valid file that `--skip-existing` resumes). The first save of a
 * run keeps the previous file as `.bak`; the alignments file is locked for the run (util/lock.ts), and the
 * temporary files of killed runs are swept from its folder and the faces folder at the start.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import {
  ALIGNMENTS_FORMAT,
  ALIGNMENTS_VERSION,
  defaultAlignmentsPath,
  parseAlignments,
  type AlignedFace,
  type Alignments,
  type AlignmentsFrame,
} from '../../../src-shared/formats/alignments';
import { RateMeter } from '../../../src-shared/progress';
import type { ExtractOptions } from '../../../src-shared/stages/extract';
import { throwIfCancelled, type StageContext } from '../stage';
import { sweepTemps, writeFileAtomicSafe, writeJsonAtomic } from '../util/atomic-write';
import { faultPoint } from '../util/faults';
import { acquireLock, lockFileFor } from '../util/lock';
import { FACE_PNG_KEYWORD, type FacePngMeta } from '../../../src-shared/formats/face-png';
import { alignFace } from '../face/align';
import { blurScore } from '../face/blur';
import { handMasksOf } from '../face/hands';
import {
  DEFAULT_DETECT,
  FaceDetector,
  NON_HUMAN_MIN_MESH_SCORE,
  type DetectOptions,
  type MeshFace,
} from '../face/detector';
import { loadFaceModels, type FaceModels } from '../face/human';
import { ImagePyramid, warpToRgb } from '../face/image';
import { asciiJson, addPngText } from '../face/png-text';
import type { Point2, RgbImage } from '../face/types';
import { applyMatrix, invertMatrix, transformPoints } from '../face/umeyama';
import { readImageRgb } from '../media/images';
import {
  openKeyedSource as openExtractSource,
  type KeyedFrame as SourceFrame,
  type KeyedSource as ExtractSource,
} from '../media/source';
import { FaceTracker, type Track } from './tracker';

export interface ExtractResult {
  alignmentsPath: string;
  outputDir: string;
  /** Frames (or photos) processed in this run. */
  framesProcessed: number;
  /** Frames already in the alignments file and skipped (`--skip-existing`). */
  framesSkipped: number;
  framesWithFaces: number;
  facesFound: number;
  facesWritten: number;
  droppedByIdentity: number;
  droppedBySize: number;
  droppedByBlur: number;
  elapsedMs: number;
  framesPerSecond: number;
}

/** How often faces are re-detected on video (processed frames) while tracking. */
const DETECT_EVERY = 8;
/** Descriptor refresh of a tracked face when filtering (processed frames). */
const DESCRIPTOR_EVERY = 10;
const SAVE_EVERY_MS = 3000;

const r2 = (v: number) => Math.round(v * 100) / 100;
const r6 = (v: number) => Math.round(v * 1e6) / 1e6;

export async function runExtract(options: ExtractOptions, ctx: StageContext): Promise<ExtractResult> {
  const t0 = Date.now();
  const input = resolve(options.input);
  const outDir = resolve(options.output);
  const { signal } = ctx;
  ctx.progress({ stage: 'extract', fraction: 0, title: 'Opening source', detail: input });
  const source = await openExtractSource(input, signal);
  // A photo is decoded once before anything is created: a corrupt one leaves no empty folder or alignments file.
  if (source.kind === 'image') await readImageRgb(input);
  const alignmentsPath = resolve(options.alignments ?? defaultAlignmentsPath(input, source.kind === 'folder'));
  try {
    await mkdir(outDir, { recursive: true });
    if (options.debugLandmarks) await mkdir(resolve(options.debugLandmarks), { recursive: true });
    await mkdir(dirname(alignmentsPath), { recursive: true });
  } catch (e) {
    throw new UserError('unwritable', `${outDir}: cannot create the output folder (${(e as Error).message})`, outDir);
  }
  const lock = await acquireLock(lockFileFor(alignmentsPath, false), alignmentsPath, {
    log: (m) => ctx.log('warn', m),
  });
  try {
    await sweepExtractLeftovers(alignmentsPath, outDir, ctx);
    return await extractLocked(options, ctx, { t0, input, outDir, source, alignmentsPath });
  } finally {
    await lock.release();
  }
}

/** Temporary files of killed runs: ours, and write-file-atomic's `<alignments>.<n>` / `<face>.png.<n>` of earlier versions. */
async function sweepExtractLeftovers(alignmentsPath: string, outDir: string, ctx: StageContext): Promise<void> {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const removed = [
    ...(await sweepTemps(dirname(alignmentsPath), [new RegExp(`^${esc(basename(alignmentsPath))}\\.\\d+$`)])),
    ...(dirname(alignmentsPath) === outDir ? [] : await sweepTemps(outDir, [/_\d+\.png\.\d{5,}$/])),
  ];
  if (removed.length)
    ctx.log(
      'info',
      `removed ${removed.length} leftover file(s) of an interrupted run (${removed.slice(0, 5).join(', ')}${removed.length > 5 ? ', ...' : ''})`,
    );
}

async function extractLocked(
  options: ExtractOptions,
  ctx: StageContext,
  o: { t0: number; input: string; outDir: string; source: ExtractSource; alignmentsPath: string },
): Promise<ExtractResult> {
  const { t0, input, outDir, source, alignmentsPath } = o;
  const { signal } = ctx;

  ctx.progress({ stage: 'extract', fraction: 0, title: 'Hashing source', detail: basename(input) });
  const sha256 = await source.sha256();
  const now = new Date().toISOString();
  const settings: Alignments['settings'] = {
    size: options.size,
    centering: options.centering,
    everyN: options.everyN,
    smooth: options.smooth,
    alignEyes: options.alignEyes,
  };
  let doc: Alignments | null = null;
  if (options.skipExisting) doc = await loadExisting(alignmentsPath, sha256, settings);

  ctx.progress({ stage: 'extract', fraction: 0, title: 'Loading face models' });
  const models = await loadFaceModels();
  const detector = new FaceDetector(models);
  if (!doc) {
    doc = {
      format: ALIGNMENTS_FORMAT,
      version: ALIGNMENTS_VERSION,
      createdAt: now,
      updatedAt: now,
      generator: {
        app: 'faceswap-studio',
        detector: `@vladmandic/human ${models.humanVersion} blazeface + facemesh (${models.backend})`,
        landmarks: 'ibug68 from mediapipe-468 (docs/alignments.md, v2: held-out weights of issue 17)',
      },
      source: {
        kind: source.kind,
        path: input,
        ...(source.width !== undefined ? { width: source.width, height: source.height } : {}),
        ...(source.fps !== undefined ? { fps: source.fps, frameCount: source.total } : {}),
        sha256,
      },
      settings,
      complete: false,
      frames: {},
    };
  }
  const alignments = doc;
  alignments.complete = false;

  const detectOpts: DetectOptions = {
    ...DEFAULT_DETECT,
    minFaceSize: Math.max(options.minSize, 24),
    ...(options.keepNonHuman ? { minMeshScore: NON_HUMAN_MIN_MESH_SCORE } : {}),
    mirror: options.mirrorPass === 'all' || (options.mirrorPass === 'photos' && source.kind !== 'video'),
  };
  const refs = await referenceDescriptors(detector, options.filter, detectOpts, signal);
  const nrefs = await referenceDescriptors(detector, options.nfilter, detectOpts, signal);
  const filtering = refs.length > 0 || nrefs.length > 0;

  const result: ExtractResult = {
    alignmentsPath,
    outputDir: outDir,
    framesProcessed: 0,
    framesSkipped: 0,
    framesWithFaces: 0,
    facesFound: 0,
    facesWritten: 0,
    droppedByIdentity: 0,
    droppedBySize: 0,
    droppedByBlur: 0,
    elapsedMs: 0,
    framesPerSecond: 0,
  };

  // Resume: video continues after the last processed frame; photos skip the keys already present.
  const doneKeys = new Set(Object.keys(alignments.frames));
  let start = 0;
  if (source.kind === 'video' && doneKeys.size > 0) {
    const last = Math.max(...[...doneKeys].map(Number).filter(Number.isFinite));
    start = last + options.everyN;
    result.framesSkipped = doneKeys.size;
  }
  const skip =
    source.kind === 'video'
      ? undefined
      : (key: string) => {
          if (doneKeys.has(key)) {
            result.framesSkipped++;
            return true;
          }
          return false;
        };

  const tracker =
    source.kind === 'video'
      ? new FaceTracker(detector, { detect: detectOpts, smooth: options.smooth, detectEvery: DETECT_EVERY })
      : null;
  const meter = new RateMeter();
  let lastSave = Date.now();
  let lastFraction = 0;
  // The first save of this run keeps the file it replaces as `.bak` when that is a finished extraction (or
  // there is no backup yet): an interrupted run's partial file never pushes the last complete one out.
  const previousComplete = await readFile(alignmentsPath, 'utf8')
    .then((t) => (JSON.parse(t) as { complete?: unknown }).complete === true)
    .catch(() => false);
  const backup =
    previousComplete ||
    !(await stat(`${alignmentsPath}.bak`).then(
      () => true,
      () => false,
    ));
  let saved = false;
  const save = async (complete: boolean) => {
    alignments.complete = complete;
    alignments.updatedAt = new Date().toISOString();
    await writeJsonAtomic(alignmentsPath, alignments, { backup: backup && !saved });
    saved = true;
    faultPoint('extract:saved');
  };
  let failed = true;
  let saveError: unknown = null;
  try {
    for await (const frame of source.frames({ start, every: options.everyN, skip, signal })) {
      throwIfCancelled(signal);
      const pyr = new ImagePyramid(frame.image);
      let faces: Array<{ lm: Point2[]; face: MeshFace; track?: Track }>;
      let rotated: 0 | 90 | 180 | 270 = 0;
      if (tracker) {
        faces = (await tracker.process(pyr, frame.timeSec ?? frame.index)).map((t) => ({
          lm: t.landmarks68,
          face: t.face,
          track: t.track,
        }));
      } else {
        const r = await detectPhoto(detector, frame.image, detectOpts, options.rotateImages);
        faces = r.faces.map((f) => ({ lm: f.landmarks68, face: f }));
        rotated = r.rotated;
      }
      // left to right
      faces.sort((a, b) => a.face.box[0] + a.face.box[2] / 2 - (b.face.box[0] + b.face.box[2] / 2));
      const entry: AlignmentsFrame = {
        ...(source.kind !== 'video'
          ? { width: frame.image.width, height: frame.image.height }
          : { timeSec: r6(frame.timeSec ?? 0) }),
        ...(rotated ? { rotated } : {}),
        faces: [],
      };
      result.facesFound += faces.length;
      for (const f of faces) {
        if (options.minSize > 0 && Math.max(f.face.box[2], f.face.box[3]) < options.minSize) {
          result.droppedBySize++;
          continue;
        }
        let identity: number | undefined;
        if (filtering) {
          const id = await identityOf(detector, pyr, f.face, f.track, refs, nrefs, models);
          identity = refs.length > 0 ? id.sim : undefined;
          const keep =
            refs.length > 0
              ? id.sim >= options.refThreshold && (nrefs.length === 0 || id.sim > id.nsim)
              : id.nsim < options.refThreshold;
          if (!keep) {
            result.droppedByIdentity++;
            continue;
          }
        }
        entry.faces.push(
          await alignAndWrite(pyr, frame, f, entry.faces.length, source, options, outDir, result, identity),
        );
      }
      if (entry.faces.length > 0) result.framesWithFaces++;
      alignments.frames[frame.key] = entry;
      if (options.debugLandmarks && entry.faces.length > 0)
        await writeDebug(frame, entry, resolve(options.debugLandmarks), options.size);
      result.framesProcessed++;

      const nowMs = Date.now();
      const rate = meter.update(result.framesProcessed, nowMs);
      const pos = source.kind === 'video' ? frame.index + 1 : frame.index + 1;
      const fraction = Math.max(lastFraction, Math.min(0.999, pos / Math.max(1, source.total)));
      lastFraction = fraction;
      const remaining = Math.max(0, (source.total - pos) / (source.kind === 'video' ? options.everyN : 1));
      const eta = meter.etaMs(remaining);
      ctx.progress({
        stage: 'extract',
        fraction,
        title: 'Extracting faces',
        detail: `${source.kind === 'video' ? 'frame' : 'image'} ${pos} / ${source.total}`,
        done: pos,
        total: source.total,
        rate,
        rateUnit: 'frames/s',
        ...(eta !== undefined ? { etaMs: eta } : {}),
        metrics: { faces: result.facesWritten, framesWithFaces: result.framesWithFaces },
      });
      if (nowMs - lastSave > SAVE_EVERY_MS) {
        lastSave = nowMs;
        await save(false);
      }
    }
    throwIfCancelled(signal);
    failed = false;
  } finally {
    // Leave a valid file behind whatever happened (cancel, bad frame): complete only on success.
    try {
      await save(!failed);
    } catch (e) {
      saveError = e;
      ctx.log('error', `could not save ${alignmentsPath}: ${(e as Error).message}`);
    }
  }
  if (saveError)
    throw new UserError(
      'unwritable',
      `${alignmentsPath}: cannot write the alignments file (${(saveError as Error).message})`,
      alignmentsPath,
    );
  result.elapsedMs = Date.now() - t0;
  result.framesPerSecond = result.framesProcessed / Math.max(1e-3, result.elapsedMs / 1000);
  if (result.facesFound === 0 && result.framesSkipped === 0) ctx.log('warn', `no face found in ${input}`);
  ctx.progress({
    stage: 'extract',
    fraction: 1,
    title: 'Done',
    detail: `${result.facesWritten} faces from ${result.framesProcessed} frames`,
    done: source.total,
    total: source.total,
    rate: result.framesPerSecond,
    rateUnit: 'frames/s',
    etaMs: 0,
    metrics: { faces: result.facesWritten, framesWithFaces: result.framesWithFaces },
  });
  return result;
}

async function loadExisting(
  path: string,
  sha256: string,
  settings: Alignments['settings'],
): Promise<Alignments | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UserError('bad-file', `${path}: not valid JSON (delete it or choose another -a)`, path);
  }
  const doc = parseAlignments(data, path);
  if (doc.source.sha256 !== sha256) {
    throw new UserError(
      'mismatch',
      `${path}: these alignments belong to another source (${basename(doc.source.path)}); remove --skip-existing or choose another -a`,
      path,
    );
  }
  if (
    doc.settings.size !== settings.size ||
    doc.settings.centering !== settings.centering ||
    doc.settings.everyN !== settings.everyN
  ) {
    throw new UserError(
      'mismatch',
      `${path}: was extracted with other settings (size ${doc.settings.size}, centering ${doc.settings.centering}, every ${doc.settings.everyN}); resume with the same ones`,
      path,
    );
  }
  return doc;
}

const ROTATED_MIN_DET_SCORE = 0.7;

/** Faces of a photo; with `rotate`, tries 90/180/270 degrees when none is found and maps back. */
export async function detectPhoto(
  detector: FaceDetector,
  image: RgbImage,
  opts: DetectOptions,
  rotate: boolean,
): Promise<{ faces: MeshFace[]; rotated: 0 | 90 | 180 | 270 }> {
  const faces = await detector.detect(new ImagePyramid(image), opts);
  if (faces.length > 0 || !rotate) return { faces, rotated: 0 };
  for (const deg of [90, 270, 180] as const) {
    const rot = rotateRgb(image, deg);
    // A turned image is a second chance and a second chance at a false face too: ask the detector for more
    // (measured: real faces turned upright 0.86-0.90, the dog collage turned 90 degrees 0.58).
    const found = (await detector.detect(new ImagePyramid(rot), opts)).filter(
      (f) => f.detScore >= ROTATED_MIN_DET_SCORE,
    );
    if (found.length === 0) continue;
    // Back to the unrotated image: the mesh, then every derived field.
    const back = (p: readonly number[]): [number, number] =>
      unrotatePoint(p[0]!, p[1]!, deg, image.width, image.height);
    const mapped = found.map((f) =>
      detector.toFace(
        f.mesh.map((p) => [...back(p), p[2]] as [number, number, number]),
        f.detScore,
        f.meshScore,
        { ...f.roi, ...pointObj(back([f.roi.cx, f.roi.cy])), angle: f.roi.angle - (deg * Math.PI) / 180 },
      ),
    );
    return { faces: mapped, rotated: deg };
  }
  return { faces: [], rotated: 0 };
}

function pointObj(p: [number, number]): { cx: number; cy: number } {
  return { cx: p[0], cy: p[1] };
}

/** Rotates an RGB image clockwise by 90, 180 or 270 degrees. */
export function rotateRgb(img: RgbImage, deg: 90 | 180 | 270): RgbImage {
  const { width: W, height: H, data } = img;
  const w = deg === 180 ? W : H,
    h = deg === 180 ? H : W;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let nx: number, ny: number;
      if (deg === 90) {
        nx = H - 1 - y;
        ny = x;
      } else if (deg === 180) {
        nx = W - 1 - x;
        ny = H - 1 - y;
      } else {
        nx = y;
        ny = W - 1 - x;
      }
      const s = (y * W + x) * 3,
        d = (ny * w + nx) * 3;
      out[d] = data[s]!;
      out[d + 1] = data[s + 1]!;
      out[d + 2] = data[s + 2]!;
    }
  }
  return { width: w, height: h, data: out };
}

/** A point of the image rotated clockwise by `deg` back into the original image. */
export function unrotatePoint(x: number, y: number, deg: 90 | 180 | 270, W: number, H: number): [number, number] {
  if (deg === 90) return [y, H - 1 - x];
  if (deg === 180) return [W - 1 - x, H - 1 - y];
  return [W - 1 - y, x];
}

async function referenceDescriptors(
  detector: FaceDetector,
  paths: readonly string[],
  opts: DetectOptions,
  signal: AbortSignal,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const p of paths) {
    throwIfCancelled(signal);
    const img = await readImageRgb(resolve(p));
    const r = await detectPhoto(detector, img, { ...opts, minFaceSize: 24 }, true);
    if (r.faces.length === 0) throw new UserError('no-faces', `${p}: no face found in this reference photo`, p);
    // The largest face is the reference.
    const f = r.faces.reduce((a, b) => (b.box[2] * b.box[3] > a.box[2] * a.box[3] ? b : a));
    out.push(await detector.descriptor(new ImagePyramid(img), f));
  }
  return out;
}

async function identityOf(
  detector: FaceDetector,
  pyr: ImagePyramid,
  face: MeshFace,
  track: Track | undefined,
  refs: Float32Array[],
  nrefs: Float32Array[],
  models: FaceModels,
): Promise<{ sim: number; nsim: number }> {
  const best = (d: Float32Array, set: Float32Array[]) => set.reduce((m, r) => Math.max(m, models.similarity(d, r)), 0);
  if (!track || track.framesSinceDescriptor >= DESCRIPTOR_EVERY) {
    const d = await detector.descriptor(pyr, face);
    const sim = best(d, refs),
      nsim = best(d, nrefs);
    if (!track) return { sim, nsim };
    track.framesSinceDescriptor = 0;
    track.sims.push(sim);
    track.nsims.push(nsim);
  } else {
    track.framesSinceDescriptor++;
  }
  // A track's identity is the mean of its measurements: steadier than one frame's.
  const mean = (a: number[]) => (a.length ? a.reduce((s, v) => s + v, 0) / a.length : 0);
  return { sim: mean(track.sims), nsim: mean(track.nsims) };
}

async function alignAndWrite(
  pyr: ImagePyramid,
  frame: SourceFrame,
  f: { lm: Point2[]; face: MeshFace; track?: Track },
  faceIndex: number,
  source: ExtractSource,
  options: ExtractOptions,
  outDir: string,
  result: ExtractResult,
  identity: number | undefined,
): Promise<AlignedFace> {
  const al = alignFace(f.lm, options.size, { centering: options.centering, alignEyes: options.alignEyes });
  const blur = blurScore(pyr, al.legacy);
  const matrix = al.matrix.map((row) => row.map(r6)) as AlignedFace['matrix'];
  const xs = f.lm.map((p) => p[0]),
    ys = f.lm.map((p) => p[1]);
  const box: AlignedFace['box'] = [
    r2(Math.min(...xs)),
    r2(Math.min(...ys)),
    r2(Math.max(...xs) - Math.min(...xs)),
    r2(Math.max(...ys) - Math.min(...ys)),
  ];
  const face: AlignedFace = {
    box,
    score: Math.round(f.face.detScore * f.face.meshScore * 1e4) / 1e4,
    landmarks68: f.lm.map((p) => [r2(p[0]), r2(p[1])]),
    ...(f.face.confidence ? { landmarkConfidence: f.face.confidence } : {}),
    matrix,
    pose: al.pose,
    blur: r2(blur),
    ...(identity !== undefined ? { identity: Math.round(identity * 1e4) / 1e4 } : {}),
    ...(f.track ? { track: f.track.id } : {}),
    ...(options.hands ? { masks: { hands: await handMasksOf(pyr.base, f.lm) } } : {}),
  };
  if (options.blurThreshold > 0 && blur < options.blurThreshold) {
    result.droppedByBlur++;
    return face;
  }
  const name =
    source.kind === 'video'
      ? `${frame.stem}_${String(frame.index).padStart(6, '0')}_${faceIndex}.png`
      : `${frame.stem}_${faceIndex}.png`;
  const crop = warpToRgb(pyr, al.matrix, options.size, options.size);
  const png = await sharp(crop, { raw: { width: options.size, height: options.size, channels: 3 } })
    .png({ compressionLevel: 4 })
    .toBuffer();
  const meta: FacePngMeta = {
    version: 1,
    source: basename(source.path),
    sourcePath: source.path,
    frame: source.kind === 'video' ? frame.index : frame.key,
    face: faceIndex,
    size: options.size,
    centering: options.centering,
    matrix,
    landmarks: transformPoints(al.matrix, f.lm).map((p) => [r2(p[0]), r2(p[1])]),
  };
  await writeFileAtomicSafe(join(outDir, name), addPngText(png, FACE_PNG_KEYWORD, asciiJson(meta)), { fsync: false });
  face.file = name;
  result.facesWritten++;
  return face;
}

async function writeDebug(frame: SourceFrame, entry: AlignmentsFrame, dir: string, size: number): Promise<void> {
  const { width: W, height: H } = frame.image;
  const data = Buffer.from(frame.image.data);
  const r = Math.max(1, Math.round(Math.max(W, H) / 400));
  const dot = (x: number, y: number, c: readonly [number, number, number]) => {
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const px = Math.round(x) + dx,
          py = Math.round(y) + dy;
        if (px < 0 || py < 0 || px >= W || py >= H) continue;
        const i = (py * W + px) * 3;
        data[i] = c[0];
        data[i + 1] = c[1];
        data[i + 2] = c[2];
      }
    }
  };
  for (const f of entry.faces) {
    f.landmarks68.forEach((p, i) =>
      dot(p[0], p[1], i < 17 ? [255, 200, 0] : i < 36 ? [0, 255, 0] : i < 48 ? [0, 200, 255] : [255, 0, 255]),
    );
    // outline of the aligned crop, mapped back into the frame
    const inv = invertMatrix(f.matrix);
    for (let k = 0; k <= 200; k++) {
      const t = (k / 200) * size;
      for (const q of [
        [t, 0],
        [t, size],
        [0, t],
        [size, t],
      ] as const) {
        const p = applyMatrix(inv, q);
        dot(p[0], p[1], [255, 0, 0]);
      }
    }
  }
  const name = `${frame.stem}${/^\d+$/.test(frame.key) ? `_${String(frame.index).padStart(6, '0')}` : ''}.jpg`;
  const jpeg = await sharp(data, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  await writeFileAtomicSafe(join(dir, name), jpeg, { fsync: false });
}
