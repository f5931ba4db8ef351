/** The worker of worker-rpc.test.ts: a few handlers that exercise each path of the helper. */
import { UserError } from '../../src-shared/errors';
import { serve, transfer, workerInput } from '../../src-main/engine/util/worker-rpc';

const { greeting } = workerInput<{ greeting: string }>();
let stopped = false;

const handlers = {
  hello: (name: string) => `${greeting}, ${name}`,
  userError: () => {
    throw new UserError('not-found', '/x/y.png: file not found', '/x/y.png');
  },
  bug: async () => {
    await Promise.resolve();
    throw new TypeError('boom');
  },
  /** Emits `count` progress events, then returns a buffer it moves to the parent. */
  count: (n: number) => {
    for (let i = 1; i <= n; i++) emit('tick', i);
    const out = new Float32Array(n).map((_, i) => i);
    return transfer(out, [out.buffer]);
  },
  /** Waits until `stop` is called (calls run concurrently). */
  wait: async () => {
    while (!stopped) await new Promise((r) => setTimeout(r, 5));
    return 'stopped';
  },
  stop: () => {
    stopped = true;
  },
  crash: () => process.exit(3),
};

export type TestApi = typeof handlers;

const { emit } = serve<TestApi, { tick: number }>(handlers);
