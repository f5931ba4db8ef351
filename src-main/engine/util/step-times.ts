/**
 * Where a stage's time goes: milliseconds spent in each named step, summed over every frame and every worker
 * (so `ms / frames` is the cost of one frame in that step, whatever ran in parallel). The bench prints them.
 */
export type StepTimes = Record<string, number>;

/** Runs `fn` and adds its duration to `times[step]`. */
export async function timed<T>(times: StepTimes, step: string, fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    times[step] = (times[step] ?? 0) + performance.now() - t0;
  }
}

/** Adds every step of `from` into `into`. */
export function addSteps(into: StepTimes, from: StepTimes): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/** An async iterator whose waits are counted as `step` (the decoder's share of a frame loop). */
export async function* timedIterator<T>(times: StepTimes, step: string, it: AsyncIterable<T>): AsyncGenerator<T> {
  const iter = it[Symbol.asyncIterator]();
  try {
    for (;;) {
      const r = await timed(times, step, () => iter.next());
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await iter.return?.();
  }
}
