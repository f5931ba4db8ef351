/** Main-thread side of the convert preview worker: one long-lived worker (worker-rpc), started on first use. */
import { RpcWorker } from '../engine/util/worker-rpc';
import type { PreviewRequest, PreviewResponse, PreviewWorkerApi } from './preview-worker';

export type { PreviewResponse } from './preview-worker';

export class PreviewService {
  private worker: RpcWorker<PreviewWorkerApi> | undefined;

  render(req: PreviewRequest): Promise<PreviewResponse> {
    return this.start().call('render', req);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.close();
  }

  private start(): RpcWorker<PreviewWorkerApi> {
    if (this.worker) return this.worker;
    const w = new RpcWorker<PreviewWorkerApi>(new URL('./preview-worker.ts', import.meta.url), {
      name: 'preview worker',
      unref: true,
      // A worker that stopped is replaced by a fresh one at the next request.
      onExit: () => {
        if (this.worker === w) this.worker = undefined;
      },
    });
    this.worker = w;
    return w;
  }
}
