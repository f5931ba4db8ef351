// The quality report's ranges (evaluate/run.ts): every measured frame once, few ranges on a short clip (each range
// decodes from the clip's keyframe before it), enough on a long one to keep every core busy.
import { describe, expect, it } from 'vitest';
import { measureChunk, planRanges } from '../../src-main/engine/evaluate/run';

/** Frames the decoders of every range decode in a clip whose only keyframe is frame 0: each from 0 to its end. */
const decodedFromOneKeyframe = (ranges: ReturnType<typeof planRanges>) => ranges.reduce((s, r) => s + r.end, 0);

describe('measureChunk and planRanges', () => {
  it('cover every measured frame once, primed by the measured frame before', () => {
    for (const [total, every] of [
      [1, 1],
      [120, 1],
      [121, 2],
      [1000, 3],
      [5003, 1],
    ] as const) {
      const ranges = planRanges(total, every, measureChunk(Math.ceil(total / every)));
      const frames = ranges.flatMap((r) => {
        expect(r.from).toBe(Math.max(0, r.start - every));
        const out: number[] = [];
        for (let i = r.start; i < r.end; i += every) out.push(i);
        return out;
      });
      expect(frames).toEqual(Array.from({ length: Math.ceil(total / every) }, (_, k) => k * every));
    }
  });

  it('a short clip: 2 to 4 ranges, at most 2.6x its frames decoded from a single keyframe', () => {
    for (const total of [24, 64, 65, 120, 256]) {
      const ranges = planRanges(total, 1, measureChunk(total));
      expect(ranges.length).toBeGreaterThanOrEqual(2);
      expect(ranges.length).toBeLessThanOrEqual(4);
      expect(decodedFromOneKeyframe(ranges)).toBeLessThanOrEqual(2.6 * total);
    }
    // The 720p clip of the benches: 120 frames, one keyframe (16-frame ranges decoded 576 frames per decoder).
    expect(decodedFromOneKeyframe(planRanges(120, 1, measureChunk(120)))).toBe(300);
  });

  it('a long clip: ranges of 32 to 64 measured frames', () => {
    for (const measured of [257, 1000, 4321, 20000]) {
      const chunk = measureChunk(measured);
      expect(chunk).toBeLessThanOrEqual(64);
      expect(chunk).toBeGreaterThanOrEqual(32);
    }
  });
});
