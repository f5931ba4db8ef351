/**
 * The convert preview worker: keeps one previewer (model loaded, alignments read, last frame and model output
 * cached) per input + model, so moving a blend slider only re-blends (~0.1-0.5 s on a 720p frame here) and the
 * studio's main thread never runs the model.
 */
import sharp from 'sharp';
import { isUserError } from '../../src-shared/errors';
import type { ConvertOptions } from '../../src-shared/stages/convert';
import { createPreviewer, type Previewer } from '../engine/convert/preview';
import { configureMediaTools } from '../engine/media/ffmpeg';
import { configureTfBackend } from '../engine/tf/setting';
import { serve } from '../engine/util/worker-rpc';
import type { JobTools } from './stage-worker-protocol';

export interface PreviewRequest {
  input: string;
  model: string;
  frame: number;
  options: Partial<ConvertOptions>;
  /** `mask`: where the new face goes instead of the swapped frame. */
  view?: 'swapped' | 'mask';
  /** The studio's settings (backend for `auto`, ffmpeg), applied in this worker before the frame is rendered. */
  tools?: JobTools;
}

export interface PreviewResponse {
  image: string;
  width: number;
  height: number;
  faces: number;
  ms: number;
  modelRan: boolean;
}

/** Fields fixed when a previewer is created; a change of any of them makes a new previewer. */
const SESSION_KEYS = [
  'alignments',
  'facesDir',
  'swapModel',
  'filter',
  'nfilter',
  'filterThreshold',
  'backend',
] as const;

let session: { key: string; previewer: Previewer } | undefined;
let ffmpegPath: string | undefined;
let queue: Promise<unknown> = Promise.resolve();

const handlers = {
  render(req: PreviewRequest): Promise<PreviewResponse> {
    // One at a time: a previewer is not re-entrant.
    const next = queue.then(() => handle(req));
    queue = next.catch(() => undefined);
    return next;
  },
};

export type PreviewWorkerApi = typeof handlers;

async function handle(req: PreviewRequest): Promise<PreviewResponse> {
  try {
    if (req.tools?.ffmpegPath !== ffmpegPath) {
      ffmpegPath = req.tools?.ffmpegPath;
      configureMediaTools({ ffmpegPath }); // forgets the cached lookup: only on a change
    }
    configureTfBackend(req.tools?.backend);
    // A change of backend setting loads the model again on the new backend.
    const key = JSON.stringify([
      req.input,
      req.model,
      req.tools?.backend ?? null,
      ...SESSION_KEYS.map((k) => req.options[k] ?? null),
    ]);
    if (session?.key !== key) {
      session?.previewer.dispose();
      session = undefined;
      const fixed = Object.fromEntries(
        SESSION_KEYS.filter((k) => req.options[k] !== undefined).map((k) => [k, req.options[k]]),
      );
      session = { key, previewer: await createPreviewer({ ...fixed, input: req.input, model: req.model }) };
    }
    const r = await session.previewer.preview(req.frame, req.options, { view: req.view ?? 'swapped' });
    const jpeg = await sharp(r.data, { raw: { width: r.width, height: r.height, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    return {
      image: `data:image/jpeg;base64,${jpeg.toString('base64')}`,
      width: r.width,
      height: r.height,
      faces: r.faces,
      ms: r.ms,
      modelRan: r.modelRan,
    };
  } catch (e) {
    if (!isUserError(e)) console.error(e);
    throw e;
  }
}

serve(handlers);
