/**
 * The one way this app talks to its worker threads: typed request/response calls, one error shape, one
 * bootstrap. Hand-written rather than a library (comlink and friends target browsers and proxy objects; this
 * is 150 lines, knows UserError, and needs nothing else).
 *
 *   parent                                       worker (a module that calls `serve`)
 *   const w = new RpcWorker<Api>(url, {...})     serve<Api>({ train: async (o) => ..., stop: () => ... })
 *   await w.call('train', options)   ──call──▶   handler runs; its value (or error) comes back
 *   onEvent(name, data)              ◀─event──   emit('progress', p) at any time
 *
 * Calls run concurrently in the worker (a long `train` call and a `stop` call that sets a flag), in arrival
 * order. Errors cross as one shape: a UserError stays a UserError (code, message, file), anything else is an
 * Error with its stack. A worker that dies (exit, uncaught error) fails every pending call.
 *
 * Bootstrap (worker-boot.mjs): the worker module is given as a file: URL of its .ts source; when a compiled
 * .js sits beside it (built app) that is loaded, else tsx is registered and the .ts loaded (CLI in
 * development, vitest).
 */
import { isMainThread, parentPort, Worker, workerData, type Transferable } from 'node:worker_threads';
import { isUserError, UserError, type UserErrorCode } from '../../../src-shared/errors';

/** The one error shape on the wire. */
export interface WireError {
  message: string;
  user: boolean;
  code?: string;
  file?: string;
  stack?: string;
}

export function toWire(e: unknown): WireError {
  if (isUserError(e)) return { message: e.message, user: true, code: e.code, ...(e.file ? { file: e.file } : {}) };
  const err = e instanceof Error ? e : new Error(String(e));
  return { message: err.message, user: false, ...(err.stack ? { stack: err.stack } : {}) };
}

export function fromWire(w: WireError): Error {
  if (w.user) return new UserError((w.code ?? 'bad-option') as UserErrorCode, w.message, w.file);
  const err = new Error(w.message);
  if (w.stack) err.stack = w.stack;
  return err;
}

/** Handlers of a worker: each takes one argument (or none) and returns a value or a promise of one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Api = Record<string, (arg: any) => unknown>;
/** Events a worker emits: name -> payload. */
export type Events = Record<string, unknown>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Params<F> = F extends (...args: infer P) => any ? P : never;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ret<F> = F extends (...args: any[]) => infer R ? Awaited<R> : never;
/** The call's argument list: none for a handler without one, else its one argument; then what to transfer. */
type CallArgs<F> =
  Params<F> extends []
    ? [arg?: undefined, transferList?: readonly Transferable[]]
    : [arg: Params<F>[0], transferList?: readonly Transferable[]];

/** A handler's return value with the ArrayBuffers to move (not copy) to the parent. */
export class Transfer<T> {
  constructor(
    readonly value: T,
    readonly list: readonly Transferable[],
  ) {}
}
export const transfer = <T>(value: T, list: readonly Transferable[]): T => new Transfer(value, list) as unknown as T;

type ToWorker = { t: 'call'; id: number; method: string; arg: unknown };
type FromWorker =
  | { t: 'ok'; id: number; value: unknown }
  | { t: 'err'; id: number; error: WireError }
  | { t: 'event'; name: string; data: unknown };

export interface RpcWorkerOptions<E extends Events> {
  /** What the worker reads with `workerInput()`. */
  data?: unknown;
  transferList?: readonly Transferable[];
  onEvent?: <K extends keyof E & string>(name: K, data: E[K]) => void;
  /** A name for error messages ("the training worker stopped ..."). */
  name?: string;
  /** Do not keep the process alive for this worker. */
  unref?: boolean;
  /** Called once when the worker stops (exit, crash, close). */
  onExit?: (e: Error) => void;
}

const BOOT = new URL('./worker-boot.mjs', import.meta.url);

export class RpcWorker<A extends Api, E extends Events = Events> {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private dead: Error | null = null;
  private readonly onExit: ((e: Error) => void) | undefined;

  constructor(entry: URL, opts: RpcWorkerOptions<E> = {}) {
    const name = opts.name ?? 'worker';
    this.onExit = opts.onExit;
    this.worker = new Worker(BOOT, {
      workerData: { entry: entry.href, data: opts.data },
      ...(opts.transferList ? { transferList: [...opts.transferList] as never } : {}),
    });
    if (opts.unref) this.worker.unref();
    this.worker.on('message', (m: FromWorker) => {
      if (m.t === 'event') {
        opts.onEvent?.(m.name as keyof E & string, m.data as E[keyof E & string]);
        return;
      }
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!p) return;
      if (m.t === 'ok') p.resolve(m.value);
      else p.reject(fromWire(m.error));
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the ${name} stopped (exit code ${code})`)));
  }

  /** Calls a handler in the worker; resolves with its value, rejects with its error. */
  call<K extends keyof A & string>(method: K, ...rest: CallArgs<A[K]>): Promise<Ret<A[K]>> {
    const [arg, list] = rest;
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<Ret<A[K]>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage(
        { t: 'call', id, method, arg } satisfies ToWorker,
        list ? ([...list] as never) : undefined,
      );
    });
  }

  /** Stops the worker at once; pending calls fail. */
  async close(): Promise<void> {
    this.fail(new Error('the worker was closed'));
    await this.worker.terminate().catch(() => undefined);
  }

  private fail(e: Error): void {
    if (!this.dead) {
      this.dead = e;
      this.onExit?.(e);
    }
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}

/** One of a pipeline's workers: the calls the pipeline makes on it, and how to stop it. */
export interface PoolMember<T> {
  api: T;
  close(): Promise<void>;
}

/**
 * The workers a frame pipeline (extract, the quality report) runs on: with `n` = 1 one in this thread (`local`: no
 * second copy of the models, no thread to start), else `n` worker threads of `entry`, each `frame` event of which
 * calls `onFrame` (the per-frame progress); `remote` wraps one's calls in the pipeline's interface, and `init`, when
 * given, runs on each as it starts: one that fails closes every worker started before its error goes on.
 */
export async function openPool<T, A extends Api, E extends Events>(o: {
  n: number;
  entry: URL;
  name: string;
  onFrame: () => void;
  local: () => T | Promise<T>;
  remote: (w: RpcWorker<A, E>) => T;
  init?: (w: RpcWorker<A, E>) => Promise<unknown>;
}): Promise<Array<PoolMember<T>>> {
  if (o.n <= 1) return [{ api: await o.local(), close: async () => undefined }];
  const pool: Array<PoolMember<T>> = [];
  for (let i = 0; i < o.n; i++) {
    const w = new RpcWorker<A, E>(o.entry, {
      name: o.name,
      onEvent: (event) => {
        if (event === 'frame') o.onFrame();
      },
    });
    pool.push({ api: o.remote(w), close: () => w.close() });
    await o.init?.(w).catch(async (e: unknown) => {
      await Promise.all(pool.map((m) => m.close()));
      throw e;
    });
  }
  return pool;
}

/** In a worker: what the parent passed as `data`. */
export function workerInput<T>(): T {
  return (workerData as { data: T }).data;
}

/** In a worker: answers the parent's calls with `handlers`; returns `emit` for events. */
export function serve<A extends Api, E extends Events = Events>(
  handlers: A,
): { emit<K extends keyof E & string>(name: K, data: E[K], transferList?: readonly Transferable[]): void } {
  const port = parentPort;
  if (isMainThread || !port) throw new Error('serve() must run in a worker thread');
  port.on('message', (m: ToWorker) => {
    const handler = handlers[m.method];
    const reply = (r: FromWorker, list?: readonly Transferable[]) =>
      port.postMessage(r, list ? ([...list] as never) : undefined);
    if (!handler) {
      reply({ t: 'err', id: m.id, error: toWire(new Error(`no handler '${m.method}' in this worker`)) });
      return;
    }
    void (async () => {
      try {
        const v = await handler(m.arg);
        if (v instanceof Transfer) reply({ t: 'ok', id: m.id, value: v.value }, v.list);
        else reply({ t: 'ok', id: m.id, value: v });
      } catch (e) {
        reply({ t: 'err', id: m.id, error: toWire(e) });
      }
    })();
  });
  return {
    emit: (name, data, list) =>
      port.postMessage({ t: 'event', name, data } satisfies FromWorker, list ? ([...list] as never) : undefined),
  };
}
