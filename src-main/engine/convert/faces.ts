/**
 * Where the faces of each frame come from: the alignments file (checked against the input), minus the faces
 * whose aligned PNG was deleted from `--faces-dir` (the user's curation), plus on-the-fly detection for frames
 * the alignments file does not list.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import {
  alignedFaceName,
  parseAlignmentsText,
  type AlignedFace,
  type Alignments,
} from '../../../src-shared/formats/alignments';
import { alignFace } from '../face/align';
import { DEFAULT_DETECT, FaceDetector } from '../face/detector';
import { loadFaceModels, type FaceBackend } from '../face/human';
import { ImagePyramid } from '../face/image';
import type { Centering } from '../face/mean-face';
import type { RgbImage } from '../face/types';
import { pointBounds } from '../image/raster';
import { readImageRgb } from '../media/images';
import type { FaceToSwap } from './frame';
import { createMaskInputs } from './occlusion';

export { defaultAlignmentsPath } from '../../../src-shared/formats/alignments';

/** Reads the alignments file at `path` (a missing one is a 'not-found' error naming it). */
export async function readAlignmentsFile(path: string): Promise<Alignments> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UserError('not-found', `${path}: no such alignments file`, path);
  }
  return parseAlignmentsText(text, path);
}

/** Throws 'mismatch' when the alignments were made from another source than `input`. */
export function checkAlignmentsSource(
  al: Alignments,
  file: string,
  input: { path: string; sha256: string; frameCount?: number; width?: number; height?: number },
): void {
  const s = al.source;
  if (s.sha256 !== input.sha256) {
    throw new UserError(
      'mismatch',
      `${file}: these alignments belong to another ${s.kind} (${s.path}), not ${input.path}`,
      file,
    );
  }
  if (s.frameCount !== undefined && input.frameCount !== undefined && s.frameCount !== input.frameCount) {
    throw new UserError(
      'mismatch',
      `${file}: alignments list ${s.frameCount} frames, ${input.path} has ${input.frameCount}`,
      file,
    );
  }
  const count = input.frameCount;
  const beyond = count === undefined ? undefined : Object.keys(al.frames).find((k) => Number(k) >= count);
  if (beyond !== undefined) {
    throw new UserError(
      'bad-file',
      `${file}: frame ${beyond} is past the end of ${input.path} (${count} frames)`,
      file,
    );
  }
}

/** Keeps or drops a face by identity (--filter / --nfilter). */
export type IdentityFilter = (image: RgbImage, face: FaceToSwap) => Promise<boolean>;

/**
 * Identity filter with Human's face descriptor (the same one extract's --filter uses): a face is swapped when it
 * resembles a --filter photo (similarity >= threshold, or no --filter given) and no --nfilter photo. The mesh the
 * descriptor needs is re-fitted from the stored landmarks (the alignments do not keep the 468-point mesh).
 */
export async function createIdentityFilter(o: {
  filter: readonly string[];
  nfilter: readonly string[];
  threshold: number;
  /** The backend of the thread's swap model (tfjs has one backend per thread); default wasm. */
  backend?: FaceBackend;
}): Promise<IdentityFilter> {
  const models = await loadFaceModels(o.backend ?? 'wasm');
  const detector = new FaceDetector(models);
  const refsOf = async (paths: readonly string[]) => {
    const out: Float32Array[] = [];
    for (const p of paths) {
      const img = await readImageRgb(resolve(p));
      const found = await detector.detect(new ImagePyramid(img), DEFAULT_DETECT);
      if (found.length === 0) throw new UserError('no-faces', `${p}: no face found in this reference photo`, p);
      const f = found.reduce((a, b) => (b.box[2] * b.box[3] > a.box[2] * a.box[3] ? b : a));
      out.push(await detector.descriptor(new ImagePyramid(img), f));
    }
    return out;
  };
  const refs = await refsOf(o.filter),
    nrefs = await refsOf(o.nfilter);
  const best = (d: Float32Array, set: Float32Array[]) => set.reduce((m, r) => Math.max(m, models.similarity(d, r)), 0);
  return async (image, face) => {
    const lm = face.landmarks;
    const eye = (a: number) =>
      [0, 1].map((c) => lm.slice(a, a + 6).reduce((s, p) => s + p[c]!, 0) / 6) as [number, number];
    const r = eye(36),
      l = eye(42);
    const [x0, y0, x1, y1] = pointBounds(lm);
    const pyr = new ImagePyramid(image);
    const fit = await detector.meshFrom(
      pyr,
      {
        cx: (x0 + x1) / 2,
        cy: (y0 + y1) / 2 - 0.1 * (y1 - y0),
        size: 1.6 * Math.max(x1 - x0, y1 - y0),
        angle: Math.atan2(l[1] - r[1], l[0] - r[0]),
      },
      1,
      0,
    );
    if (!fit) return refs.length === 0;
    const d = await detector.descriptor(pyr, fit);
    if (refs.length && best(d, refs) < o.threshold) return false;
    return !(nrefs.length && best(d, nrefs) >= o.threshold);
  };
}

export interface FaceProvider {
  /** Faces to swap in a frame; `null` alignments entry means "not in the file: detect". */
  facesFor(
    key: string,
    stem: string,
    index: number,
    image: RgbImage,
  ): Promise<{ faces: FaceToSwap[]; skipped: number; filtered: number; detected: boolean }>;
  dispose(): void;
}

export interface FaceProviderOptions {
  alignments: Alignments | null;
  kind: 'video' | 'image' | 'folder';
  facesDir?: string;
  /** Aligned size and centering for faces found on the fly (the alignments' settings when there is a file). */
  alignedSize?: number;
  centering?: Centering;
  /** Identity filter; faces it rejects count as `filtered`. */
  identity?: IdentityFilter;
  /** Where faces are detected on the fly: the backend of the thread's swap model (default wasm). */
  backend?: FaceBackend;
  /**
   * `--mask`: the hands and mask PNGs it needs are attached to each face (convert/occlusion.ts); a face whose
   * alignments name no PNG of a kind it needs counts as `skipped`.
   */
  mask?: string;
}

export async function createFaceProvider(o: FaceProviderOptions): Promise<FaceProvider> {
  let kept: Set<string> | null = null;
  if (o.facesDir) {
    try {
      if (!(await stat(o.facesDir)).isDirectory()) throw new Error('not a folder');
      kept = new Set((await readdir(o.facesDir)).filter((n) => n.toLowerCase().endsWith('.png')));
    } catch {
      throw new UserError('not-found', `${o.facesDir}: no such faces folder`, o.facesDir);
    }
  }
  const size = o.alignments?.settings.size ?? o.alignedSize ?? 256;
  const centering = (o.alignments?.settings.centering ?? o.centering ?? 'face') as Centering;
  let detector: FaceDetector | null = null;
  const masks = o.mask ? createMaskInputs(o.mask, o.facesDir) : undefined;
  const stored = new WeakMap<FaceToSwap, AlignedFace>();
  const toSwap = (f: AlignedFace): FaceToSwap => {
    const face = { matrix: f.matrix, alignedSize: size, landmarks: f.landmarks68 };
    stored.set(face, f);
    return face;
  };
  const byIdentity = async (image: RgbImage, faces: FaceToSwap[]) => {
    if (!o.identity) return { kept: faces, filtered: 0 };
    const kept: FaceToSwap[] = [];
    for (const f of faces) if (await o.identity(image, f)) kept.push(f);
    return { kept, filtered: faces.length - kept.length };
  };
  const unfiltered = async (key: string, stem: string, index: number, image: RgbImage) => {
    const entry = o.alignments?.frames[key];
    if (entry) {
      const faces: FaceToSwap[] = [];
      let skipped = 0;
      entry.faces.forEach((f, k) => {
        const name = f.file ?? alignedFaceName(stem, o.kind, index, k);
        if (kept && !kept.has(name)) skipped++;
        else faces.push(toSwap(f));
      });
      return { faces, skipped, detected: false };
    }
    detector ??= new FaceDetector(await loadFaceModels(o.backend ?? 'wasm'));
    const found = await detector.detect(new ImagePyramid(image), DEFAULT_DETECT);
    const faces = found.map((f) => ({
      matrix: alignFace(f.landmarks68, size, { centering }).matrix,
      alignedSize: size,
      landmarks: f.landmarks68,
    }));
    return { faces, skipped: 0, detected: true };
  };
  return {
    async facesFor(key, stem, index, image) {
      const r = await unfiltered(key, stem, index, image);
      const { kept: faces, filtered } = await byIdentity(image, r.faces);
      if (!masks) return { ...r, faces, filtered };
      const masked: FaceToSwap[] = [];
      for (const f of faces) if (await masks.attach(image, f, stored.get(f))) masked.push(f);
      return { ...r, faces: masked, skipped: r.skipped + faces.length - masked.length, filtered };
    },
    dispose() {
      detector = null;
    },
  };
}
