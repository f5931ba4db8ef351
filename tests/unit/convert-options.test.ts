/** The convert option schema: defaults, CLI flags, frame ranges. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { describeOptions, parseOptions } from '../../src-shared/options';
import { convertStage, inRanges, parseFrameRanges } from '../../src-shared/stages/convert';
import { addSchemaOptions, collectRaw } from '../../src-main/cli/options-to-commander';
import { findStage } from '../../src-main/engine/registry';

function parse(argv: string[]) {
  const cmd = new Command('convert').exitOverride();
  const bound = addSchemaOptions(cmd, convertStage.options);
  cmd.parse(argv, { from: 'user' });
  return parseOptions(convertStage.options, collectRaw(bound, cmd.opts()));
}

describe('convert options', () => {
  it('has faceswap-style flags and defaults, and no --json in the schema', () => {
    const o = parse(['-i', 'in.mp4', '-o', 'out.mp4', '-m', 'model']);
    expect(o).toMatchObject({
      mask: 'facehull',
      color: 'avg',
      seamless: false,
      sharpen: 'none',
      label: true,
      swapModel: false,
      discardFrames: false,
      crf: 18,
    });
    expect(describeOptions(convertStage.options).map((f) => f.key)).not.toContain('json');
    expect(findStage('convert')?.def.id).toBe('convert');
  });

  it('parses every option from the command line', () => {
    const o = parse([
      '-i',
      'in.mp4',
      '-o',
      'o',
      '-m',
      'm',
      '-a',
      'a.json',
      '--faces-dir',
      'f',
      '--swap-model',
      '--mask',
      'predicted',
      '--blur-size',
      '8',
      '--erosion',
      '-3',
      '--color',
      'reinhard',
      '--seamless',
      '--sharpen',
      'gaussian',
      '--frame-ranges',
      '10-50',
      '90-100',
      '--discard-frames',
      '--crf',
      '23',
      '--preset',
      'veryfast',
      '--no-label',
      '--watermark',
    ]);
    expect(o.alignments).toMatch(/a\.json$/);
    expect(o.facesDir).toMatch(/f$/);
    expect(o).toMatchObject({
      swapModel: true,
      mask: 'predicted',
      blurSize: 8,
      erosion: -3,
      color: 'reinhard',
      seamless: true,
      sharpen: 'gaussian',
      frameRanges: ['10-50', '90-100'],
      discardFrames: true,
      crf: 23,
      preset: 'veryfast',
      label: false,
      watermark: true,
    });
  });

  it('rejects a bad value with a one-line error naming the flag', () => {
    for (const argv of [
      ['--mask', 'ellipse'],
      ['--frame-ranges', '10:20'],
      ['--erosion', '90'],
      ['--color', 'lab'],
    ]) {
      let err: unknown;
      try {
        parse(['-i', 'x', '-o', 'y', '-m', 'z', ...argv]);
      } catch (e) {
        err = e;
      }
      // Choices are checked by commander, values by the schema: either way one line naming the flag.
      expect(isUserError(err) || (err as { code?: string }).code?.startsWith('commander.')).toBe(true);
      expect((err as Error).message).toContain(argv[0]);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('frame ranges are inclusive, sorted and merged', () => {
    expect(parseFrameRanges(['90-100', '10-50', '45-60', '61-62', '3-7'])).toEqual([
      [3, 7],
      [10, 62],
      [90, 100],
    ]);
    // A reversed range is an error, never silently reordered (issue 10).
    expect(() => parseFrameRanges(['50-10'])).toThrow(/--frame-ranges: 50-10: the range ends before it starts/);
    expect(() =>
      parseOptions(convertStage.options, { input: '/a.mp4', output: '/b.mp4', model: '/m', frameRanges: ['7-3'] }),
    ).toThrow(/--frame-ranges: 7-3: the range ends before it starts/);
    const r = parseFrameRanges(['10-50']);
    expect([9, 10, 50, 51].map((i) => inRanges(r, i))).toEqual([false, true, true, false]);
    expect(inRanges([], 5)).toBe(true);
  });
});
