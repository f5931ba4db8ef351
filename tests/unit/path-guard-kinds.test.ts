// Issue 10 item 11: job:start checks every option by its schema kind (path, paths), read and write alike;
// relative paths are taken relative to the open project, never to the server's working directory.
import { mkdir, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stages } from '../../src-main/engine/registry';
import { createServices, dispatch, type Services } from '../../src-main/services/handlers';
import { guardOptionPaths, PathGuard } from '../../src-main/services/path-guard';
import { SettingsStore } from '../../src-main/services/settings';
import { describeOptions, flagName } from '../../src-shared/options';

let dir: string;
let project: string;
let outside: string;
let guard: PathGuard;
let services: Services;

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'fss-guard-kinds-')));
  project = join(dir, 'project');
  outside = join(dir, 'outside');
  await mkdir(join(project, 'faces'), { recursive: true });
  await mkdir(outside);
  await symlink(outside, join(project, 'escape'));
  guard = await PathGuard.create([project]);
  services = createServices({
    shell: 'browser',
    guard,
    emit: () => undefined,
    settings: new SettingsStore(join(dir, 'settings.json')),
  });
});

afterAll(async () => {
  await services.close();
  await rm(dir, { recursive: true, force: true });
});

describe('path options are checked by their schema kind', () => {
  it('refuses, for every path and paths field of every stage, a path outside the roots', async () => {
    let checked = 0;
    for (const { def } of stages) {
      for (const { key, meta } of describeOptions(def.options)) {
        if (meta.kind !== 'path' && meta.kind !== 'paths') continue;
        const bad = join(outside, 'x.mp4');
        const options = { [key]: meta.kind === 'paths' ? [join(project, 'ok.png'), bad] : bad };
        await expect(guardOptionPaths(guard, def.options, options, project), `${def.id} ${key}`).rejects.toThrow(
          new RegExp(`^--${flagName(key, meta)}: .*outside`),
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('takes relative paths relative to the project and checks them there', async () => {
    const { def } = stages.find((s) => s.def.id === 'extract')!;
    const r = await guardOptionPaths(
      guard,
      def.options,
      { input: 'faces', output: 'faces/A', filter: ['faces/ref.png'], size: 256 },
      project,
    );
    expect(r).toEqual({
      input: join(project, 'faces'),
      output: join(project, 'faces', 'A'),
      filter: [join(project, 'faces', 'ref.png')],
      size: 256,
    });
    for (const rel of ['../outside/v.mp4', 'escape/v.mp4', '../../../../etc/passwd']) {
      await expect(guardOptionPaths(guard, def.options, { input: rel }, project), rel).rejects.toThrow(
        /^--input: .*outside/,
      );
    }
  });

  it('refuses a relative path when no project is open (job:start never resolves against the working directory)', async () => {
    for (const options of [
      { input: 'clip.mp4', output: join(project, 'faces') },
      { input: join(project, 'faces'), output: 'frames' },
    ]) {
      const r = await dispatch(services.handlers, 'job:start', { stage: 'extract', options });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error.code).toBe('outside-root');
      expect(!r.ok && r.error.message).toMatch(/relative path needs an open project/);
    }
    expect(services.jobs.list()).toEqual([]);
  });

  it('refuses a job whose write path or any list element is outside, and queues nothing', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['extract', { input: join(project, 'faces'), output: join(outside, 'faces') }, /^--output: /],
      [
        'extract',
        { input: join(project, 'faces'), output: join(project, 'faces'), alignments: join(outside, 'a.json') },
        /^--alignments: /,
      ],
      [
        'convert',
        {
          input: join(project, 'faces'),
          output: join(project, 'o.mp4'),
          model: project,
          filter: [join(project, 'a.png'), '/etc/passwd'],
        },
        /^--filter: /,
      ],
      [
        'train',
        { inputA: join(project, 'faces'), inputB: join(project, 'faces'), modelDir: join(project, 'escape', 'model') },
        /^--model-dir: /,
      ],
    ];
    for (const [stage, options, flag] of cases) {
      const r = await dispatch(services.handlers, 'job:start', { stage, options });
      expect(r.ok, `${stage} ${JSON.stringify(options)}`).toBe(false);
      expect(!r.ok && r.error.code).toBe('outside-root');
      expect(!r.ok && r.error.message).toMatch(flag);
    }
    expect(services.jobs.list()).toEqual([]);
  });
});
