// Bad input through the real CLI: one line naming the file and the problem, a non-zero exit code, no stack trace.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTestdata, repoRoot, scratchDir, videos } from '../helpers/testdata';

let dir: string;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'faceswap-studio.js'), ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stderr: r.stderr.trim(), stdout: r.stdout };
}

function expectOneLineError(r: ReturnType<typeof cli>, file: string, problem: RegExp) {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toContain(file);
  expect(r.stderr).toMatch(problem);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe.skipIf(!hasTestdata)('CLI errors on bad input', () => {
  beforeAll(async () => {
    dir = await scratchDir('cli-errors');
    const bytes = await readFile(videos.personA);
    await writeFile(join(dir, 'truncated.mp4'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    await writeFile(join(dir, 'notes.mp4'), 'these are my notes, not a video\n');
    await mkdir(join(dir, 'empty-folder'));
    await writeFile(join(dir, 'empty-folder', 'readme.txt'), 'no images here');
    await copyFile(videos.personA, join(dir, 'good.mp4'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a truncated video', () => {
    expectOneLineError(cli('probe', '-i', join(dir, 'truncated.mp4')), 'truncated.mp4', /truncat|incomplete|moov|damaged/i);
  });
  it('a text file named .mp4', () => {
    expectOneLineError(cli('probe', '-i', join(dir, 'notes.mp4')), 'notes.mp4', /not a (video|media)|no video|invalid/i);
  });
  it('a missing path', () => {
    expectOneLineError(cli('probe', '-i', join(dir, 'missing.mp4')), 'missing.mp4', /not found|does not exist|no such/i);
  });
  it('a folder with no images', () => {
    expectOneLineError(cli('probe', '-i', join(dir, 'empty-folder')), 'empty-folder', /no image/i);
  });
  it('a good video probes fine', () => {
    const r = cli('probe', '-i', join(dir, 'good.mp4'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { type: string; result: Record<string, unknown> };
    expect(last.type).toBe('result');
    expect(JSON.stringify(last.result)).toMatch(/480/);
  });
});
