/**
 * Convert's frame workers: N worker threads (frame-worker.ts), each with its own tfjs and copy of the swap model,
 * convert frames side by side (faces, model, blend); the runner decodes, hands each frame to the least busy
 * worker and encodes the results in frame order, with a fixed number of frames in flight.
 */
import { availableParallelism, freemem } from 'node:os';
import { RpcWorker } from '../util/worker-rpc';
import type { FrameDone, FrameJob } from './frame';
import type { FrameWorkerApi, FrameWorkerInit, SwapperInfo } from './frame-worker';
import type { LoadedSwapper } from './model-swapper';

/** Memory one frame worker may take (tfjs wasm heap, the swap model, frames in flight). */
const WORKER_BYTES = 700 * 2 ** 20;

/** A model at least this heavy (forward FLOPs per face) keeps a frame worker on every core. */
const HEAVY_MODEL_FLOPS = 1e9;

/**
 * Frame workers, as many as memory allows: for a light model a core is left to the decoder and x264 (their own
 * processes), a heavy model (>= 1 GFLOP a face) gets every core. Measured on 2 cores, 720p, report off, idle:
 * `lightweight` (0.14 GFLOP): one frame worker in the calling thread keeps ~1.7 cores busy (its ~44 ms and ffmpeg's
 * ~43 ms of CPU per frame) at 19.5 frames/s, two worker threads 16.1 (their start-up and the frames' hand-offs on
 * cores already taken); `masked128` (3.57 GFLOP, ~170 ms of model a frame): one 4.8 frames/s, two 6.75.
 */
export function defaultFrameWorkers(modelFlops?: number): number {
  const cores = availableParallelism() - (modelFlops !== undefined && modelFlops >= HEAVY_MODEL_FLOPS ? 0 : 1);
  return Math.max(1, Math.min(cores, Math.floor(freemem() / WORKER_BYTES)));
}

export class FramePool {
  private readonly busy: number[];

  private constructor(
    private readonly workers: Array<RpcWorker<FrameWorkerApi>>,
    readonly swapper: LoadedSwapper,
  ) {
    this.busy = workers.map(() => 0);
  }

  get size(): number {
    return this.workers.length;
  }

  static async start(n: number, init: FrameWorkerInit): Promise<FramePool> {
    const workers = Array.from(
      { length: n },
      () => new RpcWorker<FrameWorkerApi>(new URL('./frame-worker.ts', import.meta.url), { name: 'convert worker' }),
    );
    let info: SwapperInfo;
    try {
      info = (await Promise.all(workers.map((w) => w.call('init', init))))[0]!;
    } catch (e) {
      await Promise.all(workers.map((w) => w.close()));
      throw e;
    }
    // What the runner reads of the model (metadata, provenance); the model itself runs in the workers.
    const swapper: LoadedSwapper = {
      ...info,
      inputSize: 0,
      outputSize: 0,
      coverage: 0,
      swap: () => Promise.reject(new Error('the model runs in the frame workers')),
      dispose: () => undefined,
    };
    return new FramePool(workers, swapper);
  }

  /**
   * Converts one frame on the least busy worker. The frame's pixels are moved to it when `job.data` owns its whole
   * buffer (a decoded frame does; `job.data` is then empty here) and copied otherwise; the result is moved back.
   */
  async convert(job: FrameJob): Promise<FrameDone> {
    let k = 0;
    for (let i = 1; i < this.busy.length; i++) if (this.busy[i]! < this.busy[k]!) k = i;
    this.busy[k]!++;
    const d = job.data;
    const owned = d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer;
    try {
      return await this.workers[k]!.call('frame', job, owned ? [d.buffer] : undefined);
    } finally {
      this.busy[k]!--;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
