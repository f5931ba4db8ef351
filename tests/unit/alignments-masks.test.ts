/**
 * The alignments file's version 2: per-face occlusion masks (hand hulls, mask PNG names), the migration of
 * version 1 files, and the `--mask` combinations convert accepts (issue 15).
 */
import { describe, expect, it } from 'vitest';
import { ALIGNMENTS_VERSION, migrateAlignments, parseAlignments } from '../../src-shared/formats/alignments';
import { parseOptions } from '../../src-shared/options';
import { convertOptions, maskProblem, parseMaskSpec } from '../../src-shared/stages/convert';
import { onePhotoAlignments } from '../helpers/alignments';

const doc = (version: number, masks?: unknown) => onePhotoAlignments(version, masks === undefined ? {} : { masks });

describe('alignments version 2: face masks', () => {
  it('reads a version 1 file as version 2 without changing its faces', () => {
    const v1 = doc(1);
    const read = parseAlignments(v1, 'old.json');
    expect(ALIGNMENTS_VERSION).toBe(2);
    expect(read.version).toBe(2);
    expect(read.frames['x.jpg']!.faces[0]).toEqual(v1.frames['x.jpg'].faces[0]);
    expect(v1.version).toBe(1); // the input is not modified
    expect((migrateAlignments(v1) as { version: number }).version).toBe(2);
  });

  it('refuses a newer version, naming the file', () => {
    expect(() => parseAlignments(doc(3), 'new.json')).toThrow(/new\.json: alignments version 3 is newer/);
  });

  it('keeps hand hulls and mask file names', () => {
    const masks = {
      hands: [
        [
          [10, 20],
          [30, 20],
          [20, 40],
        ],
      ],
      painted: 'x_0.mask.png',
      segment: 'x_0.segment.png',
    };
    expect(parseAlignments(doc(2, masks), 'a.json').frames['x.jpg']!.faces[0]!.masks).toEqual(masks);
    expect(parseAlignments(doc(2, { hands: [] }), 'a.json').frames['x.jpg']!.faces[0]!.masks).toEqual({ hands: [] });
  });

  it('refuses a hull of fewer than 3 points, a mask path with a folder and a non-PNG name', () => {
    const two = {
      hands: [
        [
          [1, 2],
          [3, 4],
        ],
      ],
    };
    expect(() => parseAlignments(doc(2, two), 'a.json')).toThrow(/a\.json.*masks\.hands/);
    expect(() => parseAlignments(doc(2, { painted: '../x.mask.png' }), 'a.json')).toThrow(/masks\.painted/);
    expect(() => parseAlignments(doc(2, { segment: 'x.jpg' }), 'a.json')).toThrow(/masks\.segment/);
    expect(() =>
      parseAlignments(
        doc(2, {
          hands: [
            [
              [1, 2],
              [3, 4],
              [1e300, 0],
            ],
          ],
        }),
        'a.json',
      ),
    ).toThrow(/±/);
  });
});

describe('convert --mask combinations', () => {
  it('accepts the single kinds, their "+" combinations and the hull alias', () => {
    expect(parseMaskSpec('facehull')).toEqual({ regions: ['facehull'], hands: false });
    expect(parseMaskSpec('hull+hands')).toEqual({ regions: ['facehull'], hands: true });
    expect(parseMaskSpec('segment+facehull+hands')).toEqual({ regions: ['segment', 'facehull'], hands: true });
    expect(parseOptions(convertOptions, { input: 'a', output: 'b', model: 'm' }).mask).toBe('facehull');
    expect(parseOptions(convertOptions, { input: 'a', output: 'b', model: 'm', mask: 'painted+hands' }).mask).toBe(
      'painted+hands',
    );
  });

  it('refuses unknown names, repeats, hands alone and bad syntax with the flag named', () => {
    expect(maskProblem('facehull+feet')).toMatch(/unknown mask "feet"/);
    expect(maskProblem('hull+facehull')).toMatch(/named twice/);
    expect(maskProblem('hands')).toMatch(/combine it/);
    const bad = (mask: string) => () => parseOptions(convertOptions, { input: 'a', output: 'b', model: 'm', mask });
    expect(bad('hands')).toThrow(/^--mask: hands: "hands" is cut out/);
    expect(bad('facehull++hands')).toThrow(/^--mask: expected mask names joined by '\+'/);
    expect(bad('segment+Segment')).toThrow(/--mask/);
  });
});
