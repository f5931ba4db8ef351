/** A worker thread of the extract pipeline (pipeline.ts): the chunk work of chunks.ts behind worker-rpc. */
import { serve } from '../util/worker-rpc';
import { ChunkRunner, type ChunkApi } from './chunks';

export type ChunkWorkerApi = { [K in keyof ChunkApi]: ChunkApi[K] };
export interface ChunkWorkerEvents {
  [name: string]: unknown;
  frame: number;
}

const { emit } = serve<ChunkWorkerApi, ChunkWorkerEvents>(
  (() => {
    const runner = new ChunkRunner((chunk) => emit('frame', chunk));
    return {
      init: (s) => runner.init(s),
      detect: (r) => runner.detect(r),
      write: (r) => runner.write(r),
    } satisfies ChunkWorkerApi;
  })(),
);
