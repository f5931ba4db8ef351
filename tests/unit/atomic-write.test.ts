// The checked atomic writer and the leftover sweep (src-main/engine/util/atomic-write.ts, docs/reliability.md).
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { sweepConvertLeftovers } from '../../src-main/engine/convert/output';
import { sweepTemps, writeFileAtomicSafe, writeJsonAtomic } from '../../src-main/engine/util/atomic-write';
import { setFault } from '../../src-main/engine/util/faults';
import { scratchDir } from '../helpers/testdata';

let dir: string;
const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

beforeAll(async () => {
  dir = await scratchDir('atomic-write');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => setFault(''));

describe('writeFileAtomicSafe', () => {
  it('replaces the file in full and leaves nothing else', async () => {
    const d = join(dir, 'plain');
    await mkdir(d);
    const f = join(d, 'data.bin');
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
    await writeFileAtomicSafe(f, big);
    expect(Buffer.compare(await readFile(f), Buffer.from(big))).toBe(0);
    await writeJsonAtomic(f, { a: 1 });
    expect(JSON.parse(await readFile(f, 'utf8'))).toEqual({ a: 1 });
    expect(await readdir(d)).toEqual(['data.bin']);
  });

  it('a full disk half-way: one-line error naming the file, the old content stays, the temp is gone', async () => {
    const d = join(dir, 'full');
    await mkdir(d);
    const f = join(d, 'settings.json');
    await writeFile(f, 'old');
    setFault('enospc:1');
    const e = await writeFileAtomicSafe(f, 'x'.repeat(100_000)).then(
      () => null,
      (x: unknown) => x,
    );
    expect(isUserError(e)).toBe(true);
    expect((e as Error).message).toBe(`${f}: disk full (ENOSPC); the file was not written`);
    expect(await readFile(f, 'utf8')).toBe('old');
    expect(await readdir(d)).toEqual(['settings.json']);
  });

  it('backup keeps the replaced version as .bak, also when .bak already is the same file', async () => {
    const d = join(dir, 'bak');
    await mkdir(d);
    const f = join(d, 'project.json');
    await writeFileAtomicSafe(f, 'v1', { backup: true });
    expect(await readdir(d)).toEqual(['project.json']); // nothing to back up yet
    await writeFileAtomicSafe(f, 'v2', { backup: true });
    expect(await readFile(`${f}.bak`, 'utf8')).toBe('v1');
    // .bak and the file one inode (a save killed between the link and the rename): rename() is a no-op then.
    const { link } = await import('node:fs/promises');
    await rm(`${f}.bak`);
    await link(f, `${f}.bak`);
    await writeFileAtomicSafe(f, 'v3', { backup: true });
    expect(await readFile(`${f}.bak`, 'utf8')).toBe('v2');
    expect((await readdir(d)).sort()).toEqual(['project.json', 'project.json.bak']);
  });

  it('keeps the mode of the file it replaces', async () => {
    const f = join(dir, 'key.pem');
    await writeFile(f, 'secret', { mode: 0o600 });
    await writeFileAtomicSafe(f, 'new secret');
    expect((await stat(f)).mode & 0o777).toBe(0o600);
  });
});

describe('sweepTemps', () => {
  it('removes temps of dead writers older than this process, keeps live ones and other files', async () => {
    const d = join(dir, 'sweep');
    await mkdir(d);
    const old = new Date(Date.now() - 3600_000);
    const dead = deadPid();
    const names = {
      dead: `.weights.00000003.bin.${dead}-0a1b2c3d.tmp`,
      live: `.weights.00000004.bin.${process.ppid}-0a1b2c3d.tmp`,
      mineNew: `.state.json.${process.pid}-0a1b2c3d.tmp`,
      legacy: 'alignments.json.123456789',
      user: 'notes.txt.tmp',
    };
    for (const n of Object.values(names)) await writeFile(join(d, n), 'x');
    for (const n of [names.dead, names.live, names.legacy, names.user]) await utimes(join(d, n), old, old);
    const removed = await sweepTemps(d, [/^alignments\.json\.\d+$/]);
    expect(removed.sort()).toEqual([names.dead, names.legacy].sort());
    expect((await readdir(d)).sort()).toEqual([names.live, names.mineNew, names.user].sort());
  });
});

describe('sweepConvertLeftovers', () => {
  it("removes a killed conversion's files (this and earlier versions' names), keeps a live one's and the user's", async () => {
    const d = join(dir, 'convert');
    await mkdir(d);
    const old = new Date(Date.now() - 3600_000);
    const dead = deadPid();
    const leftovers = [
      `.out.mp4.${dead}-0a1b2c3d.new.mp4`, // finished, never renamed in
      `..out.mp4.${dead}-0a1b2c3d.new.mp4.${dead}-x1y2z3.part`, // the media writer's, inside ours
      `.out.mp4.${dead}-ab12cd.part`, // earlier versions: the writer's own
      `.frames.tmp-${dead}-1764600000000`, // earlier versions: an image folder being written
    ];
    const kept = [`.out.mp4.${process.ppid}-0a1b2c3d.new.mp4`, 'out.mp4', 'notes.txt'];
    for (const n of [...leftovers, ...kept]) {
      if (n.includes('.frames.')) await mkdir(join(d, n));
      else await writeFile(join(d, n), 'x');
      await utimes(join(d, n), old, old);
    }
    expect((await sweepConvertLeftovers(join(d, 'out.mp4'))).sort()).toEqual(
      leftovers.filter((n) => n.includes('out.mp4')).sort(),
    );
    // The folder output's own sweep; its old folder moved aside is put back when the output is missing.
    await mkdir(join(d, `.frames.${dead}-0a1b2c3d.old`));
    await utimes(join(d, `.frames.${dead}-0a1b2c3d.old`), old, old);
    expect((await sweepConvertLeftovers(join(d, 'frames'))).sort()).toEqual(
      [`.frames.${dead}-0a1b2c3d.old -> frames`, `.frames.tmp-${dead}-1764600000000`].sort(),
    );
    expect((await readdir(d)).sort()).toEqual([...kept, 'frames'].sort());
  });
});
