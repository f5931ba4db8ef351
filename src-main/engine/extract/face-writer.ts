/**
 * One face of a frame: aligned (umeyama to the mean face), its alignments entry built, and unless it is too
 * blurred its crop written as a PNG with the face metadata in a text chunk (atomically; the frame's pixels are
 * never modified).
 */
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { alignedFaceName, type AlignedFace } from '../../../src-shared/formats/alignments';
import { FACE_PNG_KEYWORD, type FacePngMeta } from '../../../src-shared/formats/face-png';
import type { ExtractOptions } from '../../../src-shared/stages/extract';
import { alignFace } from '../face/align';
import { BLUR_SIDE, blurScore, blurWarp } from '../face/blur';
import { handMasksOf } from '../face/hands';
import { warpLevel, warpReads, warpToRgb, type ImagePyramid, type PixelRect } from '../face/image';
import { asciiJson, addPngText } from '../face/png-text';
import type { Matrix2x3, Point2 } from '../face/types';
import { matrixScale, transformPoints } from '../face/umeyama';
import { writeFileAtomicSafe } from '../util/atomic-write';
import { timed, type StepTimes } from '../util/step-times';

/** What the writer needs of a face: its (smoothed) landmarks and the detector's facts. */
export interface FaceToWrite {
  lm: Point2[];
  detScore: number;
  meshScore: number;
  confidence?: number[];
  /** Track id (video). */
  track?: number;
  /** Similarity to the --filter references. */
  identity?: number;
}

export interface WriteTarget {
  kind: 'video' | 'image' | 'folder';
  /** The source file or folder (named in each PNG's metadata). */
  sourcePath: string;
  options: Pick<ExtractOptions, 'size' | 'centering' | 'alignEyes' | 'blurThreshold' | 'hands'>;
  outDir: string;
}

const r2 = (v: number) => Math.round(v * 100) / 100;
export const r6 = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * The pyramid pixels `alignAndWrite` would read for a face with landmarks near `lm` (the crop and the blur score's
 * inner face, each warped from one level), each rectangle widened by `margin` of its larger side (landmarks that
 * move this much, in the smoothing for one, stay inside) and 2 pixels, on the finer level when a scale `margin`
 * larger would be warped from the next (which the pyramid builds from it). An estimate: the warps check what they
 * read (ImagePyramid `patches`). Throws for landmarks that cannot be aligned.
 */
export function readsOf(
  pyr: ImagePyramid,
  lm: readonly Point2[],
  options: WriteTarget['options'],
  margin: number,
): Array<{ level: number; rect: PixelRect }> {
  const al = alignFace(lm, options.size, { centering: options.centering, alignEyes: options.alignEyes });
  const warps: Array<[Matrix2x3, number]> = [
    [al.matrix, options.size],
    [blurWarp(al.legacy), BLUR_SIDE],
  ];
  return warps.flatMap(([m, side]) => {
    const shrink = 1 / matrixScale(m);
    // The finer level also serves the coarser one (ImagePyramid builds it from the patch).
    const { level, rect: r } = warpReads(pyr, m, side, side, warpLevel(shrink * (1 - margin)));
    const pad = Math.ceil(margin * Math.max(r.x1 - r.x0, r.y1 - r.y0)) + 2;
    return [{ level, rect: { x0: r.x0 - pad, y0: r.y0 - pad, x1: r.x1 + pad, y1: r.y1 + pad } }];
  });
}

/** The face's alignments entry; `file` is set when its PNG was written (not when it was too blurred). */
export async function alignAndWrite(
  pyr: ImagePyramid,
  frame: { index: number; key: string; stem: string },
  f: FaceToWrite,
  faceIndex: number,
  target: WriteTarget,
  steps: StepTimes,
): Promise<AlignedFace> {
  const { options } = target;
  const t0 = performance.now();
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
    score: Math.round(f.detScore * f.meshScore * 1e4) / 1e4,
    landmarks68: f.lm.map((p) => [r2(p[0]), r2(p[1])]),
    ...(f.confidence ? { landmarkConfidence: f.confidence } : {}),
    matrix,
    pose: al.pose,
    blur: r2(blur),
    ...(f.identity !== undefined ? { identity: Math.round(f.identity * 1e4) / 1e4 } : {}),
    ...(f.track !== undefined ? { track: f.track } : {}),
    ...(options.hands ? { masks: { hands: await handMasksOf(pyr.base, f.lm) } } : {}),
  };
  if (options.blurThreshold > 0 && blur < options.blurThreshold) {
    steps.align = (steps.align ?? 0) + performance.now() - t0;
    return face;
  }
  const crop = warpToRgb(pyr, al.matrix, options.size, options.size);
  steps.align = (steps.align ?? 0) + performance.now() - t0;
  const name = alignedFaceName(frame.stem, target.kind, frame.index, faceIndex);
  await timed(steps, 'write', async () => {
    const png = await sharp(crop, { raw: { width: options.size, height: options.size, channels: 3 } })
      .png({ compressionLevel: 4 })
      .toBuffer();
    const meta: FacePngMeta = {
      version: 1,
      source: basename(target.sourcePath),
      sourcePath: target.sourcePath,
      frame: target.kind === 'video' ? frame.index : frame.key,
      face: faceIndex,
      size: options.size,
      centering: options.centering,
      matrix,
      landmarks: transformPoints(al.matrix, f.lm).map((p) => [r2(p[0]), r2(p[1])]),
    };
    await writeFileAtomicSafe(join(target.outDir, name), addPngText(png, FACE_PNG_KEYWORD, asciiJson(meta)), {
      fsync: false,
    });
  });
  face.file = name;
  return face;
}
