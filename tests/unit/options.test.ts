import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isUserError } from '../../src-shared/errors';
import { defineStage, describeOptions, field, parseOptions } from '../../src-shared/options';
import { addSchemaOptions, collectRaw } from '../../src-main/cli/options-to-commander';

const stage = defineStage({
  id: 'demo',
  title: 'Demo',
  summary: 'a stage for tests',
  options: z.object({
    input: field.path({ label: 'Input', help: 'video or folder', group: 'Input', short: 'i', pathKind: 'file-or-dir' }),
    size: field.int({ label: 'Size', help: 'crop size in px', group: 'Output', default: 256, min: 64, max: 1024 }),
    smooth: field.boolean({ label: 'Smooth', help: 'temporal smoothing', group: 'Output', default: true }),
    rotate: field.boolean({ label: 'Rotate', help: 'try rotations', group: 'Detection', default: false }),
    color: field.choice({
      label: 'Colour',
      help: 'colour matching',
      group: 'Blend',
      choices: ['none', 'avg', 'hist'] as const,
      default: 'avg',
    }),
    filter: field.paths({ label: 'Filter', help: 'reference photos', group: 'Filter', pathKind: 'file' }),
  }),
});

function parse(argv: string[]) {
  const cmd = new Command('demo').exitOverride();
  const bound = addSchemaOptions(cmd, stage.options);
  cmd.parse(argv, { from: 'user' });
  return parseOptions(stage.options, collectRaw(bound, cmd.opts()));
}

describe('option schemas', () => {
  it('carries meta for every field, in declaration order', () => {
    expect(describeOptions(stage.options).map((f) => f.key)).toEqual([
      'input',
      'size',
      'smooth',
      'rotate',
      'color',
      'filter',
    ]);
  });

  it('fills defaults and parses CLI flags from the schema', () => {
    const o = parse(['-i', '/tmp/x.mp4', '--size', '128', '--no-smooth', '--filter', 'a.jpg', 'b.jpg']);
    expect(o).toMatchObject({ input: '/tmp/x.mp4', size: 128, smooth: false, rotate: false, color: 'avg' });
    expect(o.filter.map((p) => p.split('/').pop())).toEqual(['a.jpg', 'b.jpg']);
    expect(parse(['-i', '/x']).smooth).toBe(true);
  });

  it('rejects out-of-range values with one error naming the flag', () => {
    try {
      parse(['-i', '/x', '--size', '12']);
      expect.unreachable();
    } catch (e) {
      expect(isUserError(e)).toBe(true);
      expect((e as Error).message).toMatch(/^--size: .*64/);
      expect((e as Error).message).not.toContain('\n');
    }
    expect(() => parse(['-i', '/x', '--size', 'abc'])).toThrow(/--size/);
  });

  it('lists every option with its default in --help', () => {
    const cmd = new Command('demo');
    addSchemaOptions(cmd, stage.options);
    const help = cmd.helpInformation();
    for (const flag of [
      '-i, --input <path>',
      '--size <n>',
      '--no-smooth',
      '--rotate',
      '--color <none|avg|hist>',
      '--filter <paths...>',
    ]) {
      expect(help).toContain(flag);
    }
    expect(help).toContain('(default: 256)');
    expect(help).toContain('crop size in px [64..1024]');
  });
});
