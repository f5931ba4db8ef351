/** Main-thread side of the convert preview worker: one long-lived worker, requests matched by id. */
import { Worker } from 'node:worker_threads';
import { UserError, type UserErrorCode } from '../../src-shared/errors';
import type { PreviewReply, PreviewRequest } from './preview-worker';

export type PreviewResponse = Extract<PreviewReply, { ok: true }>;

export class PreviewService {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(r: PreviewResponse): void; reject(e: Error): void }>();

  render(req: Omit<PreviewRequest, 'id'>): Promise<PreviewResponse> {
    const worker = this.start();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ ...req, id } satisfies PreviewRequest);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./ts-worker.mjs', import.meta.url), { workerData: { entry: new URL('./preview-worker.ts', import.meta.url).href } });
    w.unref();
    w.on('message', (m: PreviewReply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!p) return;
      if (m.ok) p.resolve(m);
      else p.reject(m.error.code === 'internal' ? new Error(m.error.message) : new UserError(m.error.code as UserErrorCode, m.error.message));
    });
    const fail = (e: Error) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = undefined;
    };
    w.on('error', fail);
    w.on('exit', () => fail(new Error('the preview worker stopped')));
    this.worker = w;
    return w;
  }
}
