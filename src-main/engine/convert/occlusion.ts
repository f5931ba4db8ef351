/**
 * What convert's occlusion masks need per face (issue 15, docs/masks.md): the hand polygons (from the alignments,
 * or found on the frame when the alignments lack them and the mask cuts hands) and the `segment` / `painted` mask
 * PNGs the alignments name, read from the faces folder and attached to the face with the matrix that maps frame
 * pixels to their pixels, so the blend warps them back exactly like the aligned face.
 */
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import type { AlignedFace } from '../../../src-shared/formats/alignments';
import { parseMaskSpec, type MaskRegion } from '../../../src-shared/stages/convert';
import { handMasksOf } from '../face/hands';
import type { Matrix2x3, RgbImage } from '../face/types';
import type { FaceToSwap } from './frame';

type PngMask = Extract<MaskRegion, 'segment' | 'painted'>;

export interface MaskInputs {
  /**
   * Completes `face` with what the mask needs; `stored` is its alignments entry (absent for a face found on the
   * fly). Returns false when the face cannot be masked as asked (its alignments name no mask PNG of that kind):
   * such a face is left unswapped.
   */
  attach(image: RgbImage, face: FaceToSwap, stored?: AlignedFace): Promise<boolean>;
}

/** Reads a mask PNG: its alpha when it has one, else its first channel; 0..1. Must be square. */
export async function readMaskPng(path: string): Promise<{ size: number; plane: Float32Array }> {
  let raw: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    raw = await sharp(path).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const missing = (e as Error).message.includes('missing') || (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UserError(
      missing ? 'not-found' : 'bad-file',
      `${path}: ${missing ? 'no such mask file' : 'not a readable PNG mask'}`,
      path,
    );
  }
  const { width, height, channels } = raw.info;
  if (width !== height)
    throw new UserError('bad-file', `${path}: a face mask must be square (${width}x${height})`, path);
  const c = channels === 2 || channels === 4 ? channels - 1 : 0;
  const plane = new Float32Array(width * height);
  for (let i = 0; i < plane.length; i++) plane[i] = raw.data[i * channels + c]! / 255;
  return { size: width, plane };
}

/** The alignment matrix (frame -> aligned pixels at `from`) for an aligned image of side `to` (pixel centres kept). */
function rescale(m: Matrix2x3, from: number, to: number): Matrix2x3 {
  const k = to / from;
  return [
    [k * m[0][0], k * m[0][1], k * (m[0][2] + 0.5) - 0.5],
    [k * m[1][0], k * m[1][1], k * (m[1][2] + 0.5) - 0.5],
  ];
}

/**
 * What `--mask` needs beyond the landmarks, or undefined when it needs nothing more. The mask PNGs live in
 * `facesDir` (convert's `--faces-dir`), which such a mask requires.
 */
export function createMaskInputs(mask: string, facesDir: string | undefined): MaskInputs | undefined {
  const spec = parseMaskSpec(mask);
  const pngs = spec.regions.filter((r): r is PngMask => r === 'segment' || r === 'painted');
  if (!spec.hands && pngs.length === 0) return undefined;
  if (pngs.length && !facesDir)
    throw new UserError(
      'bad-option',
      `--mask ${mask}: needs --faces-dir, the faces folder that holds the ${pngs.join(' and ')} mask PNGs`,
    );
  return {
    async attach(image, face, stored) {
      if (spec.hands) {
        face.hands = stored?.masks?.hands ?? (await handMasksOf(image, face.landmarks));
      }
      for (const kind of pngs) {
        const name = stored?.masks?.[kind];
        if (!name) return false;
        const { size, plane } = await readMaskPng(join(facesDir!, name));
        face.alignedMasks ??= { matrix: rescale(face.matrix, face.alignedSize, size), size };
        if (face.alignedMasks.size !== size)
          throw new UserError(
            'bad-file',
            `${join(facesDir!, name)}: ${size} px, but this face's other mask is ${face.alignedMasks.size} px`,
          );
        face.alignedMasks[kind] = plane;
      }
      return true;
    },
  };
}
