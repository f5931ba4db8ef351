/**
 * The metadata every aligned face PNG carries in a tEXt chunk (keyword `FACE_PNG_KEYWORD`, ASCII JSON), so that a
 * curated faces folder alone says where each face came from and how it was aligned. Written by `extract`, read by
 * `train` (the landmarks give the learned mask its target). Documented in docs/alignments.md.
 */
import { z } from 'zod';

export const FACE_PNG_KEYWORD = 'faceswap-studio:face';

const num = z.number().refine(Number.isFinite, 'must be a finite number');
const point = z.tuple([num, num]);
const row3 = z.tuple([num, num, num]);

export const facePngMetaSchema = z.object({
  version: z.literal(1),
  /** Source file name, and its full path at extraction time. */
  source: z.string(),
  sourcePath: z.string(),
  /** Frame index (video) or file name (photo folder) of the face: the alignments file's key. */
  frame: z.union([z.int().nonnegative(), z.string()]),
  /** Face index within the frame, left to right. */
  face: z.int().nonnegative(),
  /** Side of the aligned crop in pixels. */
  size: z.int().positive(),
  centering: z.string(),
  /** 2x3 affine: source pixels -> crop pixels. */
  matrix: z.tuple([row3, row3]),
  /** The 68 landmarks (iBUG order) in crop pixels; absent in faces written before this field existed. */
  landmarks: z.array(point).length(68).optional(),
});
export type FacePngMeta = z.infer<typeof facePngMetaSchema>;

/** The metadata of a face PNG from its text chunks, or undefined when absent or not valid. */
export function parseFacePngMeta(text: string | undefined): FacePngMeta | undefined {
  if (text === undefined) return undefined;
  try {
    const r = facePngMetaSchema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
