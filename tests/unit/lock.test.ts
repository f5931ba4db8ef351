// Advisory lock files (src-main/engine/util/lock.ts, docs/reliability.md).
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { processStart } from '../../src-main/engine/util/atomic-write';
import { acquireLock, lockFileFor } from '../../src-main/engine/util/lock';
import { scratchDir } from '../helpers/testdata';

let dir: string;
const deadPid = () =>
  Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
const lockOf = (pid: number, start: number) =>
  JSON.stringify({ pid, host: hostname(), processStart: start, since: '2026-01-01T00:00:00.000Z' });

beforeAll(async () => {
  dir = await scratchDir('lock');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('acquireLock', () => {
  it('refuses a second holder (another job of this process) with one line naming the target and pid', async () => {
    const model = join(dir, 'model');
    await mkdir(model);
    const held = await acquireLock(lockFileFor(model, true), model);
    const e = await acquireLock(lockFileFor(model, true), model).then(
      () => null,
      (x: unknown) => x,
    );
    expect(isUserError(e) && e.code).toBe('locked');
    expect((e as Error).message).toMatch(
      new RegExp(
        `^${model}: in use by another process \\(pid ${process.pid}, since .*\\); wait for it to finish or stop it$`,
      ),
    );
    await held.release();
    expect(await readdir(model)).toEqual([]);
    const again = await acquireLock(lockFileFor(model, true), model);
    await again.release();
  });

  it('refuses a lock held by a live process (the parent of this one)', async () => {
    const file = join(dir, 'live.alignments.json.lock');
    await writeFile(file, lockOf(process.ppid, 0));
    const e = await acquireLock(file, 'live.alignments.json').then(
      () => null,
      (x: unknown) => x,
    );
    expect((e as Error).message).toContain(`(pid ${process.ppid},`);
  });

  it('takes over the lock of a dead process, a reused pid and an unreadable lock, saying so once', async () => {
    const dead = deadPid();
    for (const [name, content, said] of [
      ['dead', lockOf(dead, 0), `took over the lock of pid ${dead}, which is no longer running`],
      [
        'reused-pid',
        lockOf(process.pid, processStart - 60_000),
        `took over the lock of pid ${process.pid}, which is no longer running`,
      ],
      ['empty', '', 'replaced an unreadable lock file'],
    ] as const) {
      const file = join(dir, `${name}.lock`);
      await writeFile(file, content);
      const logs: string[] = [];
      const held = await acquireLock(file, name, { log: (m) => logs.push(m) });
      expect(logs).toHaveLength(1);
      expect(logs[0]).toContain(`${name}: ${said}`);
      await held.release();
    }
    expect((await readdir(dir)).filter((n) => n.endsWith('.lock') || n.endsWith('.tmp'))).toEqual([
      'live.alignments.json.lock',
    ]);
  });
});
