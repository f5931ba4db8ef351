/**
 * The alignments file written by `extract` and read by the later stages (curate, train, convert): one JSON
 * document per source (a video, a photo or a folder of photos). Documented in docs/alignments.md.
 *
 * Versioning: `version` is bumped on any change that an older reader would misread; readers reject newer
 * versions with a clear message and migrate older ones (see `parseAlignments` and `ALIGNMENTS_MIGRATIONS`).
 *
 * Version history:
 * - 1: the first format.
 * - 2: per face an optional `masks` object (hand hulls, painted and segment mask files; docs/masks.md). A
 *   version 1 file holds no masks, so it migrates by its version number alone.
 */
import { z } from 'zod';
import { UserError } from '../errors';
import { stemOf } from '../files';

export const ALIGNMENTS_FORMAT = 'faceswap-studio/alignments';
export const ALIGNMENTS_VERSION = 2;

/**
 * Every number in the file: finite and bounded. Pixel coordinates, transforms and scores all lie far inside
 * ±1e6; a hand-edited 1e300 would pass `isFinite` and then break the mask and the blend downstream.
 */
export const ALIGNMENTS_NUMBER_LIMIT = 1e6;
const num = z
  .number()
  .refine(Number.isFinite, 'must be a finite number')
  .refine((v) => Math.abs(v) <= ALIGNMENTS_NUMBER_LIMIT, `must lie within ±${ALIGNMENTS_NUMBER_LIMIT}`);
const point = z.tuple([num, num]);
const row3 = z.tuple([num, num, num]);

/** A mask PNG's file name in the faces folder, beside the aligned face: a plain name, never a path. */
const maskFileName = z
  .string()
  .regex(/^[^/\\]+\.png$/i, 'must be a .png file name in the faces folder (no folder part)');

/**
 * What is known about the occlusions of one face (version 2). Every field is optional; an absent field means that
 * mask was not made, an empty `hands` array means hands were looked for and none overlaps the face.
 */
export const faceMasksSchema = z.object({
  /**
   * The convex hulls of the hands that overlap this face, already dilated, in frame (source) pixels, each polygon
   * counter-clockwise with at least 3 points. `convert --mask ...+hands` cuts them out of the face mask.
   */
  hands: z.array(z.array(point).min(3)).optional(),
  /**
   * A mask painted by the user on the aligned face: a PNG at the aligned size (single-channel, or its alpha when it
   * has one; 255 = face, 0 = not face) in the faces folder, conventionally `<face stem>.mask.png`.
   */
  painted: maskFileName.optional(),
  /** The same kind of PNG, produced by the trained segmentation model (`<face stem>.segment.png`). */
  segment: maskFileName.optional(),
});
/** @public The mask names of one face (read and written by engine/mask/mask-files.ts). */
export type FaceMasks = z.infer<typeof faceMasksSchema>;

export const alignedFaceSchema = z.object({
  /** Face box [x, y, w, h] in source pixels (bounding box of the 68 landmarks). */
  box: z.tuple([num, num, num, num]),
  /** Detection confidence 0..1 (detector score x mesh face score). */
  score: num,
  /** 68 [x, y] points in source pixels, iBUG 300-W order, 0-based (see docs/alignments.md). */
  landmarks68: z.array(point).length(68),
  /**
   * Per-point confidence 0..1 of `landmarks68` (agreement of the direct and mirrored mesh passes, see
   * docs/alignments.md); absent when only one pass ran. Additive: a reader without it ignores it.
   */
  landmarkConfidence: z
    .array(num.refine((v) => v >= 0 && v <= 1, 'must lie within 0..1'))
    .length(68)
    .optional(),
  /** 2x3 affine: source pixels -> aligned crop pixels at `settings.size` (OpenCV warpAffine convention). */
  matrix: z.tuple([row3, row3]),
  /** Head pose in degrees, when it could be estimated. */
  pose: z.object({ pitch: num, yaw: num, roll: num }).optional(),
  /** Sharpness (variance of the Laplacian of the inner face at 128x128). */
  blur: num.optional(),
  /** Best similarity (0..1) to the `--filter` reference faces, when filtering. */
  identity: num.optional(),
  /** File name of the aligned PNG in the faces folder (absent when the face was not written). */
  file: z.string().optional(),
  /** Temporal track id within a video (same person across consecutive frames). */
  track: z.int().optional(),
  /** Occlusion masks of this face (version 2; see `faceMasksSchema`). */
  masks: faceMasksSchema.optional(),
});
export type AlignedFace = z.infer<typeof alignedFaceSchema>;

export const alignmentsFrameSchema = z.object({
  /** Frame size (photos differ from each other; video frames share `source.width/height`). */
  width: z.int().optional(),
  height: z.int().optional(),
  /** Seconds from the start of the video. */
  timeSec: num.optional(),
  /** Clockwise rotation (degrees) that was applied to find the faces (`--rotate-images`); landmarks are in the unrotated image. */
  rotated: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]).optional(),
  /** Faces left to right; empty when the frame was processed and held none. */
  faces: z.array(alignedFaceSchema),
});
export type AlignmentsFrame = z.infer<typeof alignmentsFrameSchema>;

export const alignmentsSourceSchema = z.object({
  kind: z.enum(['video', 'image', 'folder']),
  /** Absolute path at extraction time. */
  path: z.string(),
  /** Video frame size (absent for photo folders). */
  width: z.int().optional(),
  height: z.int().optional(),
  fps: num.optional(),
  frameCount: z.int().optional(),
  /** SHA-256 (hex) of the video or photo bytes; for a folder, of the lines `name<TAB>sha256` of its photos in order. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AlignmentsSource = z.infer<typeof alignmentsSourceSchema>;

export const alignmentsSchema = z.object({
  format: z.literal(ALIGNMENTS_FORMAT),
  version: z.literal(ALIGNMENTS_VERSION),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Tool and model versions that produced the landmarks. */
  generator: z.object({ app: z.string(), detector: z.string(), landmarks: z.string() }),
  source: alignmentsSourceSchema,
  /** The extraction settings that shaped `matrix` and the crops. */
  settings: z.object({
    size: z.int(),
    centering: z.enum(['face', 'legacy', 'head']),
    everyN: z.int(),
    smooth: z.boolean(),
    alignEyes: z.boolean(),
    /** `--mirror-pass` of the run (absent in files written before it was recorded). */
    mirrorPass: z.enum(['photos', 'all', 'off']).optional(),
  }),
  /** False while extraction runs or after it was cancelled; `--skip-existing` resumes such a file. */
  complete: z.boolean(),
  /**
   * Per processed frame: key = frame index (0-based, decimal string) for a video, file name (relative to the
   * folder) for photos. A frame that is absent was not processed.
   */
  frames: z.record(z.string(), alignmentsFrameSchema),
});
export type Alignments = z.infer<typeof alignmentsSchema>;

/** A video's frames are keyed by their 0-based index: a decimal integer inside the clip. */
const validAlignments = alignmentsSchema.superRefine((doc, ctx) => {
  if (doc.source.kind !== 'video') return;
  const count = doc.source.frameCount;
  for (const key of Object.keys(doc.frames)) {
    if (!/^(0|[1-9]\d{0,8})$/.test(key)) {
      ctx.addIssue({
        code: 'custom',
        path: ['frames', key],
        message: 'a video frame key must be a frame index (0, 1, 2...)',
      });
      return;
    }
    if (count !== undefined && Number(key) >= count) {
      ctx.addIssue({
        code: 'custom',
        path: ['frames', key],
        message: `frame ${key} is past the end of the ${count}-frame video`,
      });
      return;
    }
  }
});

/**
 * Migrations of older documents, by the version they start from: each returns the document at the next version.
 * Version 1 -> 2 only adds optional fields, so the version number is all that changes.
 */
export const ALIGNMENTS_MIGRATIONS: Readonly<
  Record<number, (doc: Record<string, unknown>) => Record<string, unknown>>
> = {
  1: (doc) => ({ ...doc, version: 2 }),
};

/** Brings an older document up to `ALIGNMENTS_VERSION` (a shallow copy; the input is not changed). */
export function migrateAlignments(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  let doc = data as Record<string, unknown>;
  for (;;) {
    const v = doc.version;
    const step = typeof v === 'number' && v < ALIGNMENTS_VERSION ? ALIGNMENTS_MIGRATIONS[v] : undefined;
    if (!step) return doc;
    doc = step(doc);
  }
}

/** Validates a parsed alignments document (migrating an older version); `file` names it in the error. */
export function parseAlignments(data: unknown, file: string): Alignments {
  const v = (data as { version?: unknown } | null)?.version;
  if (typeof v === 'number' && v > ALIGNMENTS_VERSION) {
    throw new UserError(
      'bad-file',
      `${file}: alignments version ${v} is newer than this app reads (${ALIGNMENTS_VERSION}); update the app`,
      file,
    );
  }
  const r = validAlignments.safeParse(migrateAlignments(data));
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue ? issue.path.join('.') : '';
    throw new UserError(
      'bad-file',
      `${file}: not a valid alignments file (${where ? `${where}: ` : ''}${issue?.message ?? 'invalid'})`,
      file,
    );
  }
  return r.data;
}

/**
 * Parses the text of an alignments file (`file` names it in the errors): JSON first, then `parseAlignments`.
 * Every reader (extract's resume, convert, its preview, the studio's Faces view) reads through it.
 */
export function parseAlignmentsText(text: string, file: string): Alignments {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UserError('bad-file', `${file}: not a valid alignments file (not JSON)`, file);
  }
  return parseAlignments(data, file);
}

/** Where a source's alignments go by default: `<input>.alignments.json` beside a video or photo, `alignments.json` inside a folder of photos. */
export function defaultAlignmentsPath(input: string, isDir: boolean): string {
  if (!isDir) return `${input}.alignments.json`;
  const sep = input.includes('\\') && !input.includes('/') ? '\\' : '/';
  return `${input.replace(/[/\\]+$/, '')}${sep}alignments.json`;
}

/** A project keeps each source's alignments in its alignments folder as `<source stem>.alignments.json`. */
export function projectAlignmentsName(source: string): string {
  return `${stemOf(source)}.alignments.json`;
}

/**
 * The file name extract gives the aligned PNG of a face: `<stem>_<frame, 6 digits>_<face>.png` for a video frame,
 * `<stem>_<face>.png` for a photo (`stem`: the video's or the photo's name without its extension).
 */
export function alignedFaceName(stem: string, kind: 'video' | 'image' | 'folder', index: number, face: number): string {
  return kind === 'video' ? `${stem}_${String(index).padStart(6, '0')}_${face}.png` : `${stem}_${face}.png`;
}

/** The frame index in an aligned face's name of a video of stem `sourceStem` (undefined for another source or a photo). */
export function alignedFaceFrame(name: string, sourceStem: string): number | undefined {
  if (!name.startsWith(`${sourceStem}_`)) return undefined;
  const m = /^_(\d{6,})_\d+\.\w+$/.exec(name.slice(sourceStem.length));
  return m ? Number(m[1]) : undefined;
}
