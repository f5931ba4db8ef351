/**
 * The mirrored landmark pass's relabelling and confidence, and the lag measure of the smoothing (issue 17).
 */
import { describe, expect, it } from 'vitest';
import { IBUG68_MIRROR, mirroredIbug68, meshToIbug68, pointConfidence } from '../../src-main/engine/face/ibug68';
import { landmarkLag } from '../../src-main/engine/face/jitter';
import { MEAN_FACE_51 } from '../../src-main/engine/face/mean-face';
import type { Point2, Point3 } from '../../src-main/engine/face/types';
import { ALIGNMENTS_VERSION, parseAlignments } from '../../src-shared/formats/alignments';
import { onePhotoAlignments } from '../helpers/alignments';

describe('iBUG-68 mirror', () => {
  it('is an involution that swaps sides and keeps the centre line', () => {
    expect([...IBUG68_MIRROR].sort((a, b) => a - b)).toEqual(Array.from({ length: 68 }, (_, i) => i));
    IBUG68_MIRROR.forEach((j, i) => expect(IBUG68_MIRROR[j]).toBe(i));
    for (const [a, b] of [
      [0, 16],
      [17, 26],
      [31, 35],
      [36, 45],
      [39, 42],
      [40, 47],
      [48, 54],
      [59, 55],
      [60, 64],
      [67, 65],
    ])
      expect(IBUG68_MIRROR[a!]).toBe(b);
    for (const c of [8, 27, 28, 29, 30, 33, 51, 57, 62, 66]) expect(IBUG68_MIRROR[c]).toBe(c);
  });

  it('maps the 51 inner points of the (symmetric) mean face onto their mirror images', () => {
    // MEAN_FACE_51 holds iBUG points 17-67 in a 0..1 square, mirror-symmetric about x = 0.5 up to rounding
    const pts = MEAN_FACE_51 as readonly Point2[];
    for (let i = 17; i < 68; i++) {
      const p = pts[i - 17]!,
        q = pts[IBUG68_MIRROR[i]! - 17]!;
      expect(p[0] + q[0]).toBeCloseTo(1, 1);
      expect(p[1]).toBeCloseTo(q[1], 1);
    }
  });

  it('relabels a mesh predicted on a flipped crop', () => {
    // a synthetic mesh, and the same mesh as the model would report it on the mirrored crop: positions flipped
    // about x = 100, labels those of the mirror image. Its mirrored 68 points equal the flipped direct ones.
    const mesh: Point3[] = Array.from({ length: 468 }, (_, i) => [(i * 37) % 200, (i * 53) % 200, 0]);
    const direct = meshToIbug68(mesh);
    const flipped: Point3[] = mesh.map((p) => [200 - p[0], p[1], p[2]]);
    const back = mirroredIbug68(flipped);
    back.forEach((p, i) => {
      const d = direct[IBUG68_MIRROR[i]!]!;
      expect(p[0]).toBeCloseTo(200 - d[0], 6);
      expect(p[1]).toBeCloseTo(d[1], 6);
    });
  });

  it('point confidence is 1 where two estimates agree and falls with their distance', () => {
    const a = meshToIbug68(Array.from({ length: 468 }, (_, i) => [(i * 37) % 200, (i * 53) % 200, 0]));
    const eye = Math.hypot(a[36]![0] - a[45]![0], a[36]![1] - a[45]![1]);
    const b = a.map((p, i) => [p[0] + (i === 5 ? 0.05 * eye : 0), p[1]] as Point2);
    const c = pointConfidence(a, b);
    expect(c).toHaveLength(68);
    expect(c[0]).toBe(1);
    expect(c[5]).toBeCloseTo(Math.exp(-1), 2);
  });
});

describe('landmarkLag', () => {
  const face = (x: number): Point2[] => Array.from({ length: 68 }, (_, i) => [x + (i % 10) * 10, (i / 10) * 10]);
  // a face moving right and back (up to 6 px per frame)
  const xs = Array.from({ length: 120 }, (_, t) => 60 * Math.sin((2 * Math.PI * t) / 60));
  const raw = xs.map(face);

  it('finds the delay of a delayed copy, to a twentieth of a frame', () => {
    for (const d of [0, 1, 2.5]) {
      const delayed = xs.map((_, t) => {
        const s = Math.max(0, t - d),
          i = Math.floor(s),
          f = s - i;
        return face(xs[i]! * (1 - f) + xs[Math.min(119, i + 1)]! * f);
      });
      expect(landmarkLag(raw, delayed)).toBeCloseTo(d, 1);
    }
  });

  it('is NaN for a still face', () => {
    const still = xs.map(() => face(0));
    expect(landmarkLag(still, still)).toBeNaN();
  });
});

describe('landmarkConfidence in the alignments file', () => {
  const doc = (confidence?: unknown) =>
    onePhotoAlignments(ALIGNMENTS_VERSION, confidence === undefined ? {} : { landmarkConfidence: confidence });

  it('is optional, and when present 68 values in 0..1', () => {
    expect(parseAlignments(doc(), 'a.json').frames['x.jpg']!.faces[0]!.landmarkConfidence).toBeUndefined();
    const ok = parseAlignments(doc(Array.from({ length: 68 }, (_, i) => i / 67)), 'a.json');
    expect(ok.frames['x.jpg']!.faces[0]!.landmarkConfidence).toHaveLength(68);
    expect(() => parseAlignments(doc(new Array(67).fill(0.5)), 'a.json')).toThrow(/a\.json.*landmarkConfidence/);
    expect(() => parseAlignments(doc(new Array(68).fill(1.5)), 'a.json')).toThrow(/0\.\.1/);
  });

  it('settings keep --mirror-pass (optional: files written before it stay valid)', () => {
    const d = doc();
    expect(parseAlignments(d, 'a.json').settings.mirrorPass).toBeUndefined();
    const all = parseAlignments({ ...d, settings: { ...d.settings, mirrorPass: 'all' } }, 'a.json');
    expect(all.settings.mirrorPass).toBe('all');
    expect(() => parseAlignments({ ...d, settings: { ...d.settings, mirrorPass: 'both' } }, 'a.json')).toThrow(
      /a\.json/,
    );
  });
});
