// The blur measure and the verdict on constructed cases with known answers.
import { describe, expect, it } from 'vitest';
import { laplacianVariance } from '../../src-main/engine/evaluate/metrics';
import { qualityVerdict, VERDICT, type QualityReport, type Summary } from '../../src-shared/formats/quality';

const w = 40;
const h = 30;
const gray = (f: (x: number, y: number) => number) => {
  const img = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.fill(f(x, y), (y * w + x) * 3, (y * w + x) * 3 + 3);
  return img;
};
const all = new Float32Array(w * h).fill(1);

describe('laplacianVariance', () => {
  it('is 0 for a flat or linear image (no curvature)', () => {
    expect(
      laplacianVariance(
        gray(() => 128),
        w,
        h,
        all,
      ),
    ).toBe(0);
    expect(
      laplacianVariance(
        gray((x, y) => 2 * x + y),
        w,
        h,
        all,
      ),
    ).toBeCloseTo(0, 6);
  });

  it('a checkerboard of +-a has Laplacian +-8a everywhere: variance 64 a^2', () => {
    const a = 10;
    expect(
      laplacianVariance(
        gray((x, y) => ((x + y) % 2 ? 128 + a : 128 - a)),
        w,
        h,
        all,
      ),
    ).toBeCloseTo(64 * a * a, 3);
  });

  it('counts only the masked pixels, and halving the contrast quarters it', () => {
    // The mask stops a column short of the pattern: every masked pixel has the pattern all round.
    const half = new Float32Array(w * h).map((_, i) => (i % w < w / 2 - 1 ? 1 : 0));
    const img = gray((x, y) => (x < w / 2 ? ((x + y) % 2 ? 138 : 118) : 128));
    expect(laplacianVariance(img, w, h, half)).toBeCloseTo(6400, 3);
    const soft = gray((x, y) => (x < w / 2 ? ((x + y) % 2 ? 133 : 123) : 128));
    expect(laplacianVariance(soft, w, h, half) / laplacianVariance(img, w, h, half)).toBeCloseTo(0.25, 6);
    expect(laplacianVariance(img, w, h, new Float32Array(w * h))).toBeNaN();
  });
});

describe('qualityVerdict', () => {
  const s = (mean: number): Summary => ({ mean, p5: mean, p95: mean, n: 10 });
  const report = (o: {
    ratio: number;
    retrieval: number;
    margin: number;
    pose?: number;
    expr?: number;
    faces?: number;
    identityMeasured?: number;
  }) =>
    ({
      frames: { total: 10, measured: 10, withFaceBoth: o.faces ?? 10, identityMeasured: o.identityMeasured ?? 3 },
      identity: {
        similarityToTarget: s(0.5),
        similarityToSource: s(0.5 - o.margin),
        retrievalToTarget: o.retrieval,
        margin: o.margin,
      },
      sharpness: { ratio: o.ratio, perFrame: s(o.ratio), laplacianOriginal: 30, laplacianSwapped: 30 * o.ratio },
      pose: { errorDeg: s(o.pose ?? 2), yawDeg: s(0), pitchDeg: s(0), rollDeg: s(0) },
      expression: { error: s(o.expr ?? 0.03), mouth: s(0), eyes: s(0), brows: s(0) },
    }) as Pick<QualityReport, 'frames' | 'identity' | 'sharpness' | 'pose' | 'expression'>;

  it('blur comes first: a blur that happens to retrieve B is still blurry', () => {
    expect(qualityVerdict(report({ ratio: VERDICT.blurry - 0.01, retrieval: 1, margin: 0.3 }))).toBe(
      'still blurry: train longer',
    );
    expect(qualityVerdict(report({ ratio: NaN, retrieval: 1, margin: 0.3 }))).toBe('still blurry: train longer');
  });

  it('reads as B only with both the retrieval and the margin', () => {
    expect(qualityVerdict(report({ ratio: 0.9, retrieval: 0.9, margin: 0.15 }))).toBe('reads as B, sharp');
    expect(qualityVerdict(report({ ratio: 0.6, retrieval: 0.9, margin: 0.15 }))).toBe(
      'reads as B, soft: train longer for detail',
    );
    expect(qualityVerdict(report({ ratio: 0.9, retrieval: 0.9, margin: 0.05 }))).toBe(
      'between A and B, sharp: train longer',
    );
    expect(qualityVerdict(report({ ratio: 0.9, retrieval: 0.3, margin: -0.2 }))).toBe(
      'reads as A, sharp: train longer',
    );
  });

  it('names a face that does not follow the pose or expression, over-sharpening, and no face', () => {
    expect(qualityVerdict(report({ ratio: 0.9, retrieval: 1, margin: 0.2, pose: 7.25 }))).toBe(
      'reads as B, sharp; pose off by 7.3 deg',
    );
    expect(qualityVerdict(report({ ratio: 0.9, retrieval: 1, margin: 0.2, expr: 0.2 }))).toBe(
      'reads as B, sharp; expression does not follow',
    );
    expect(qualityVerdict(report({ ratio: 2, retrieval: 1, margin: 0.2 }))).toMatch(
      /^reads as B, sharper than the original/,
    );
    expect(qualityVerdict(report({ ratio: 1, retrieval: 0, margin: 0, faces: 0 }))).toBe(
      'no face measured: nothing to judge',
    );
    expect(qualityVerdict(report({ ratio: 0.9, retrieval: 0, margin: 0, identityMeasured: 0 }))).toBe(
      'identity not measured (no sampled frame has both faces), sharp',
    );
  });
});
