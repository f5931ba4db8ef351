/**
 * The identity filter (`--filter` / `--nfilter`): reference descriptors from photos, and a face's similarity to
 * them; a tracked face is measured every few frames and judged by the mean of its measurements.
 */
import { resolve } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import type { DetectOptions, FaceDetector, MeshFace } from '../face/detector';
import type { FaceModels } from '../face/human';
import { ImagePyramid } from '../face/image';
import { readImageRgb } from '../media/images';
import { throwIfCancelled } from '../stage';
import { detectPhoto } from './rotate';
import type { Track } from './tracker';

/** Descriptor refresh of a tracked face when filtering (processed frames). */
const DESCRIPTOR_EVERY = 10;

export async function referenceDescriptors(
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

export async function identityOf(
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
