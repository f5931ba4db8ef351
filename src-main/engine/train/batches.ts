/**
 * Batch preparation, a pure function of (faces, seed, iteration): the sample order is shuffled epochs (as
 * faceswap), augmentation draws from a per-iteration random stream, so a resumed session draws exactly the
 * batches the uninterrupted one would have, whichever thread prepares them.
 */
import { makeBatch, type AugmentOptions, type Batch, type CachedFace } from './augment';
import { Rng } from './rng';

/** A stable 32-bit mix of a few integers (per-iteration random streams). */
export function mix(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** Sample number k -> face index, without replacement within each epoch. */
export function epochSampler(n: number, seed: number, side: number): (k: number) => number {
  let epoch = -1;
  let perm: number[] = [];
  return (k: number) => {
    const e = Math.floor(k / n);
    if (e !== epoch) {
      epoch = e;
      const rng = new Rng(mix(seed, side, e, 0xe90c));
      perm = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j] as number, perm[i] as number];
      }
    }
    return perm[k % n] as number;
  };
}

export interface BatchPlan {
  seed: number;
  batchSize: number;
  aug: AugmentOptions;
  withMask: boolean;
}

/** Makes the (A, B) batch pair of any iteration (0-based: the batch trained at iteration `iteration + 1`). */
export function batchMaker(
  facesA: readonly CachedFace[],
  facesB: readonly CachedFace[],
  plan: BatchPlan,
): (iteration: number) => [Batch, Batch] {
  const sampleA = epochSampler(facesA.length, plan.seed, 1);
  const sampleB = epochSampler(facesB.length, plan.seed, 2);
  return (iteration) => {
    const bs = plan.batchSize;
    let ka = iteration * bs;
    let kb = iteration * bs;
    return [
      makeBatch(facesA, bs, plan.aug, new Rng(mix(plan.seed, 1, iteration)), plan.withMask, () => sampleA(ka++)),
      makeBatch(facesB, bs, plan.aug, new Rng(mix(plan.seed, 2, iteration)), plan.withMask, () => sampleB(kb++)),
    ];
  };
}
