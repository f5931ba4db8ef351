// Issue 10 item 12 / issue 13 bug 5: the ffmpeg setting takes only an ffmpeg (answers `-version` like one),
// inside the allowed roots or a system folder; anything else is refused with one line and nothing is written.
import { chmod, copyFile, mkdir, mkdtemp, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetMediaToolsCache, resolveFfmpeg } from '../../src-main/engine/media/ffmpeg';
import { createServices, dispatch, type Services } from '../../src-main/services/handlers';
import { PathGuard } from '../../src-main/services/path-guard';
import { checkFfmpegPath, SettingsStore } from '../../src-main/services/settings';

let dir: string;
let root: string;
let outside: string;
let realFfmpeg: string;
let services: Services;
const settingsFile = () => join(dir, 'settings.json');

beforeAll(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'fss-settings-ffmpeg-')));
  root = join(dir, 'root');
  outside = join(dir, 'outside');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(join(root, 'notes.txt'), 'my notes, not a program\n');
  await writeFile(join(root, 'notes-x.txt'), 'my notes, not a program\n');
  await chmod(join(root, 'notes-x.txt'), 0o755);
  await writeFile(join(root, 'hello.sh'), '#!/bin/sh\necho hello\n');
  await chmod(join(root, 'hello.sh'), 0o755);
  // Outside the roots, a "program" that would say it is ffmpeg and leave a mark if it were ever run.
  await writeFile(join(outside, 'evil.sh'), `#!/bin/sh\ntouch ${join(outside, 'ran')}\necho "ffmpeg version 9.9"\n`);
  await chmod(join(outside, 'evil.sh'), 0o755);
  realFfmpeg = (await resolveFfmpeg()).path;
  await copyFile(realFfmpeg, join(root, 'ffmpeg'));
  await chmod(join(root, 'ffmpeg'), 0o755);
  const guard = await PathGuard.create([root]);
  services = createServices({
    shell: 'browser',
    guard,
    emit: () => undefined,
    settings: new SettingsStore(settingsFile()),
  });
});

afterAll(async () => {
  await services.close();
  await rm(dir, { recursive: true, force: true });
});

describe('checkFfmpegPath', () => {
  it('refuses what is not an ffmpeg, with one line naming the file and the reason', async () => {
    const cases: Array<[string, RegExp]> = [
      ['ffmpeg', /not an absolute path/],
      [join(root, 'missing'), /no such file/],
      [root, /not a file/],
      [join(root, 'notes.txt'), /not an executable/],
      [join(root, 'notes-x.txt'), /cannot be run|not ffmpeg/],
      [join(root, 'hello.sh'), /not ffmpeg \('-version' printed "hello"/],
      [join(outside, 'evil.sh'), /outside the allowed roots/],
    ];
    for (const [p, why] of cases) {
      const e = await checkFfmpegPath(p, [root]).then(
        () => undefined,
        (err: Error) => err,
      );
      expect(e, p).toBeInstanceOf(Error);
      expect(e?.message, p).toMatch(why);
      expect(e?.message.startsWith(`${p}: `), p).toBe(true);
      expect(e?.message.split('\n'), p).toHaveLength(1);
    }
    expect(existsSync(join(outside, 'ran')), 'a program outside the roots was run').toBe(false);
  });

  it('accepts a real ffmpeg inside the roots and reports its version', async () => {
    const r = await checkFfmpegPath(join(root, 'ffmpeg'), [root]);
    expect(r.path).toBe(join(root, 'ffmpeg'));
    expect(r.version).toMatch(/\S/);
    expect(r.version).not.toBe('unknown');
  });

  it.skipIf(!existsSync('/usr/bin/ffmpeg'))('accepts an ffmpeg in a system folder outside the roots', async () => {
    expect((await checkFfmpegPath('/usr/bin/ffmpeg', [root])).version).toMatch(/\S/);
  });

  it('accepts an ffmpeg in a folder on PATH', async () => {
    const saved = process.env.PATH;
    process.env.PATH = `${dirname(realFfmpeg)}:${saved ?? ''}`;
    try {
      expect((await checkFfmpegPath(realFfmpeg, [root])).version).toMatch(/\S/);
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('settings:set {ffmpegPath}', () => {
  it('refuses a text file and writes nothing', async () => {
    const before = existsSync(settingsFile()) ? await readFile(settingsFile(), 'utf8') : undefined;
    for (const p of [join(root, 'notes.txt'), join(outside, 'evil.sh'), join(root, 'hello.sh')]) {
      const r = await dispatch(services.handlers, 'settings:set', { backend: 'auto', ffmpegPath: p });
      expect(r.ok, p).toBe(false);
      expect(!r.ok && r.error.code, p).toBe('bad-option');
      expect(!r.ok && r.error.message.split('\n'), p).toHaveLength(1);
    }
    expect(existsSync(settingsFile()) ? await readFile(settingsFile(), 'utf8') : undefined).toBe(before);
    const got = await dispatch(services.handlers, 'settings:get', {});
    expect(got.ok && (got.result as { ffmpegPath?: string }).ffmpegPath).toBeUndefined();
  });

  it('saves a real ffmpeg, answers its version, and the machine facts name the settings', async () => {
    const r = await dispatch(services.handlers, 'settings:set', { backend: 'auto', ffmpegPath: join(root, 'ffmpeg') });
    expect(r.ok).toBe(true);
    const s = r.ok ? (r.result as { ffmpegPath?: string; ffmpegVersion?: string }) : {};
    expect(s.ffmpegPath).toBe(join(root, 'ffmpeg'));
    expect(s.ffmpegVersion).toMatch(/\S/);
    expect((await stat(settingsFile())).isFile()).toBe(true);
    expect(JSON.parse(await readFile(settingsFile(), 'utf8')).ffmpegPath).toBe(join(root, 'ffmpeg'));
    const f = await resolveFfmpeg();
    expect(f.path).toBe(join(root, 'ffmpeg'));
    expect(f.source).toBe('setting');
    // If that ffmpeg later goes away, the machine panel blames the setting, not an environment variable.
    await rename(join(root, 'ffmpeg'), join(root, 'ffmpeg.moved'));
    resetMediaToolsCache();
    await expect(resolveFfmpeg()).rejects.toThrow(/the ffmpeg set by the settings cannot be run/);
    await rename(join(root, 'ffmpeg.moved'), join(root, 'ffmpeg'));
    // Clearing the setting goes back to the automatic choice.
    const cleared = await dispatch(services.handlers, 'settings:set', { backend: 'auto' });
    expect(cleared.ok && (cleared.result as { ffmpegPath?: string }).ffmpegPath).toBeUndefined();
  });
});
