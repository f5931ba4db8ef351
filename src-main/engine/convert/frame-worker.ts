/**
 * A worker thread of the convert pipeline (frame-pool.ts): its own tfjs with the swap model (and, when needed, the
 * face models for frames the alignments do not list and for the identity filter); per frame it finds the faces,
 * runs the model and blends them into the frame it was given, and sends that frame back (moved, not copied).
 */
import type { Alignments } from '../../../src-shared/formats/alignments';
import type { TfBackendChoice } from '../tf/backend';
import { serve, transfer } from '../util/worker-rpc';
import { BlendScratch, type BlendOptions } from './blend';
import { createFaceProvider, createIdentityFilter, type FaceProvider } from './faces';
import { convertJob, type FrameDone, type FrameJob } from './frame';
import { loadSwapper, type LoadedSwapper, type SwapDirection } from './model-swapper';

export interface FrameWorkerInit {
  model: string;
  direction: SwapDirection;
  backend?: TfBackendChoice;
  alignments: Alignments | null;
  kind: 'video' | 'image' | 'folder';
  facesDir?: string;
  filter: string[];
  nfilter: string[];
  filterThreshold: number;
  /** `--mask` (the occlusion masks the face provider attaches). */
  mask: string;
  blend: BlendOptions;
}

export interface SwapperInfo {
  trainer: string;
  hasMask: boolean;
  from: LoadedSwapper['from'];
  state: LoadedSwapper['state'];
  backend: LoadedSwapper['backend'];
}

export type FrameWorkerApi = {
  init(o: FrameWorkerInit): Promise<SwapperInfo>;
  frame(job: FrameJob): Promise<FrameDone>;
};

let swapper: LoadedSwapper | null = null;
let faces: FaceProvider | null = null;
let blend: BlendOptions | null = null;
const scratch = new BlendScratch();

serve<FrameWorkerApi>({
  async init(o: FrameWorkerInit): Promise<SwapperInfo> {
    swapper = await loadSwapper(o.model, { direction: o.direction, ...(o.backend ? { backend: o.backend } : {}) });
    const identity =
      o.filter.length || o.nfilter.length
        ? await createIdentityFilter({
            filter: o.filter,
            nfilter: o.nfilter,
            threshold: o.filterThreshold,
            backend: swapper.backend,
          })
        : undefined;
    faces = await createFaceProvider({
      backend: swapper.backend,
      alignments: o.alignments,
      kind: o.kind,
      ...(o.facesDir ? { facesDir: o.facesDir } : {}),
      ...(identity ? { identity } : {}),
      mask: o.blend.mask,
    });
    blend = o.blend;
    const { trainer, hasMask, from, state, backend } = swapper;
    return { trainer, hasMask, from, state, backend };
  },
  async frame(job: FrameJob): Promise<FrameDone> {
    if (!swapper || !faces || !blend) throw new Error('frame worker used before init');
    const done = await convertJob(job, faces, swapper, blend, scratch);
    const d = done.data;
    // Moved back when the frame owns its whole buffer (it does: the frame moved or copied here).
    return d.byteOffset === 0 && d.byteLength === d.buffer.byteLength
      ? transfer(done, [d.buffer as ArrayBuffer])
      : done;
  },
});
