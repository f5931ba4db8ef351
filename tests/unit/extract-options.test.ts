import { describe, expect, it } from 'vitest';
import { describeOptions, flagName, parseOptions } from '../../src-shared/options';
import { extractOptions, extractStage } from '../../src-shared/stages/extract';
import { ALIGNMENTS_VERSION, parseAlignments } from '../../src-shared/formats/alignments';
import { findStage } from '../../src-main/engine/registry';
import { isUserError } from '../../src-shared/errors';

describe('extract options', () => {
  it('has faceswap-style flags with defaults', () => {
    const flags = describeOptions(extractOptions).map((f) => flagName(f.key, f.meta));
    for (const f of [
      'input',
      'output',
      'alignments',
      'size',
      'every-n',
      'min-size',
      'filter',
      'nfilter',
      'ref-threshold',
      'blur-threshold',
      'rotate-images',
      'align-eyes',
      'skip-existing',
      'debug-landmarks',
      'smooth',
    ]) {
      expect(flags).toContain(f);
    }
    expect(flags).not.toContain('json');
    const o = parseOptions(extractOptions, { input: 'a.mp4', output: 'faces' });
    expect(o).toMatchObject({ size: 256, everyN: 1, smooth: true, rotateImages: false, filter: [], centering: 'face' });
    expect(findStage('extract')?.def).toBe(extractStage);
  });

  it('rejects bad values with the flag name', () => {
    try {
      parseOptions(extractOptions, { input: 'a.mp4', output: 'f', size: 10 });
      expect.unreachable();
    } catch (e) {
      expect(isUserError(e)).toBe(true);
      expect(String((e as Error).message)).toContain('--size');
    }
  });
});

describe('alignments format', () => {
  const face = {
    box: [1, 2, 3, 4],
    score: 0.9,
    landmarks68: Array.from({ length: 68 }, (_, i) => [i, i]),
    matrix: [
      [1, 0, 0],
      [0, 1, 0],
    ],
  };
  const doc = {
    format: 'faceswap-studio/alignments',
    version: ALIGNMENTS_VERSION,
    createdAt: 'x',
    updatedAt: 'x',
    generator: { app: 'a', detector: 'd', landmarks: 'l' },
    source: { kind: 'video', path: '/v.mp4', width: 4, height: 4, fps: 30, frameCount: 1, sha256: 'a'.repeat(64) },
    settings: { size: 256, centering: 'face', everyN: 1, smooth: true, alignEyes: false },
    complete: true,
    frames: { '0': { faces: [face] } },
  };
  it('validates a document', () => {
    expect(parseAlignments(doc, 'a.json').frames['0']!.faces[0]!.score).toBe(0.9);
  });
  it('rejects 67 landmarks and newer versions with the file name', () => {
    const bad = { ...doc, frames: { '0': { faces: [{ ...face, landmarks68: face.landmarks68.slice(1) }] } } };
    expect(() => parseAlignments(bad, 'a.json')).toThrow(/a\.json: not a valid alignments file/);
    expect(() => parseAlignments({ ...doc, version: 99 }, 'b.json')).toThrow(/b\.json: alignments version 99 is newer/);
  });
});
