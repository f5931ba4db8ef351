/** Extract on a photo or a folder of photos, one after the other in this thread (with rotation and the filter). */
import type { AlignmentsFrame } from '../../../src-shared/formats/alignments';
import type { ExtractOptions } from '../../../src-shared/stages/extract';
import type { DetectOptions, FaceDetector } from '../face/detector';
import type { FaceModels } from '../face/human';
import { ImagePyramid } from '../face/image';
import type { KeyedFrame, KeyedSource } from '../media/source';
import { throwIfCancelled } from '../stage';
import { resolve } from 'node:path';
import { writeDebug } from './debug-overlay';
import { alignAndWrite } from './face-writer';
import { identityOf } from './identity';
import { detectPhoto } from './rotate';
import { timed, timedIterator, type StepTimes } from '../util/step-times';

export async function extractPhotos(o: {
  source: KeyedSource;
  options: ExtractOptions;
  detectOpts: DetectOptions;
  detector: FaceDetector;
  models: FaceModels;
  refs: Float32Array[];
  nrefs: Float32Array[];
  outDir: string;
  signal: AbortSignal;
  steps: StepTimes;
  skip(key: string): boolean;
  onFrame(
    frame: KeyedFrame,
    entry: AlignmentsFrame,
    counts: { found: number; bySize: number; byIdentity: number },
  ): Promise<void>;
}): Promise<void> {
  const { options, steps, source } = o;
  const filtering = o.refs.length > 0 || o.nrefs.length > 0;
  const target = { kind: source.kind, sourcePath: source.path, options, outDir: o.outDir };
  const frames = source.frames({ start: 0, every: 1, skip: o.skip, signal: o.signal });
  for await (const frame of timedIterator(steps, 'decode', frames)) {
    throwIfCancelled(o.signal);
    const pyr = new ImagePyramid(frame.image);
    const r = await timed(steps, 'detect', () =>
      detectPhoto(o.detector, frame.image, o.detectOpts, options.rotateImages),
    );
    // left to right
    const faces = [...r.faces].sort((a, b) => a.box[0] + a.box[2] / 2 - (b.box[0] + b.box[2] / 2));
    const entry: AlignmentsFrame = {
      width: frame.image.width,
      height: frame.image.height,
      ...(r.rotated ? { rotated: r.rotated } : {}),
      faces: [],
    };
    const counts = { found: faces.length, bySize: 0, byIdentity: 0 };
    for (const f of faces) {
      if (options.minSize > 0 && Math.max(f.box[2], f.box[3]) < options.minSize) {
        counts.bySize++;
        continue;
      }
      let identity: number | undefined;
      if (filtering) {
        const id = await timed(steps, 'identity', () =>
          identityOf(o.detector, pyr, f, undefined, o.refs, o.nrefs, o.models),
        );
        identity = o.refs.length > 0 ? id.sim : undefined;
        const keep =
          o.refs.length > 0
            ? id.sim >= options.refThreshold && (o.nrefs.length === 0 || id.sim > id.nsim)
            : id.nsim < options.refThreshold;
        if (!keep) {
          counts.byIdentity++;
          continue;
        }
      }
      entry.faces.push(
        await alignAndWrite(
          pyr,
          frame,
          {
            lm: f.landmarks68,
            detScore: f.detScore,
            meshScore: f.meshScore,
            ...(f.confidence ? { confidence: f.confidence } : {}),
            ...(identity !== undefined ? { identity } : {}),
          },
          entry.faces.length,
          target,
          steps,
        ),
      );
    }
    if (options.debugLandmarks && entry.faces.length > 0) {
      const dir = resolve(options.debugLandmarks);
      await timed(steps, 'debug', () => writeDebug(frame, entry, dir, options.size));
    }
    await o.onFrame(frame, entry, counts);
  }
}
