// Bad input through the real CLI: one line naming the file and the problem, a non-zero exit code, no stack trace.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasTestdata, repoRoot, scratchDir, td, videos } from '../helpers/testdata';

let dir: string;

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'faceswap-studio.js'), ...args], {
    encoding: 'utf8',
    timeout: 120_000,
  });
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
    expectOneLineError(
      cli('probe', '-i', join(dir, 'truncated.mp4')),
      'truncated.mp4',
      /truncat|incomplete|moov|damaged/i,
    );
  });
  it('a text file named .mp4', () => {
    expectOneLineError(
      cli('probe', '-i', join(dir, 'notes.mp4')),
      'notes.mp4',
      /not a (video|media)|no video|invalid/i,
    );
  });
  it('a missing path', () => {
    expectOneLineError(
      cli('probe', '-i', join(dir, 'missing.mp4')),
      'missing.mp4',
      /not found|does not exist|no such/i,
    );
  });
  it('a folder with no images', () => {
    expectOneLineError(cli('probe', '-i', join(dir, 'empty-folder')), 'empty-folder', /no image/i);
  });
  it('a good video probes fine', () => {
    const r = cli('probe', '-i', join(dir, 'good.mp4'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as {
      type: string;
      result: Record<string, unknown>;
    };
    expect(last.type).toBe('result');
    expect(JSON.stringify(last.result)).toMatch(/480/);
  });
});

describe("the CLI's own usage errors (issue 10 item 14)", () => {
  function expectUsageError(r: ReturnType<typeof cli>, problem: RegExp) {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^error: /);
    expect(r.stderr).toMatch(problem);
  }
  it('an unknown option, an unknown command, a missing -i, an invalid choice: exit 2, one line', () => {
    expectUsageError(cli('probe', '-i', 'x.mp4', '--bogus'), /unknown option '--bogus'/);
    expectUsageError(cli('extrct'), /unknown command 'extrct'.*Did you mean extract\?/);
    expectUsageError(cli('extract', '-o', 'faces'), /required option '-i, --input <path>' not specified/);
    expectUsageError(cli('extract', '-i', 'x.mp4', '-o', 'f', '--centering', 'nope'), /argument 'nope' is invalid/);
  });
  it('a normal run is quiet on stderr: no Dawn/Vulkan warnings from probing WebGPU', () => {
    const r = cli('doctor', '--json'); // probes every tfjs backend, WebGPU included
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Vulkan|Dawn|XDG_RUNTIME_DIR|Warning:/);
  });
  it('--help and --version still exit 0', () => {
    expect(cli('--version').code).toBe(0);
    expect(cli('extract', '--help').code).toBe(0);
  });
  it('--frame-ranges 50-10 is refused, not reordered', () => {
    expectUsageError(
      cli('convert', '-i', 'x.mp4', '-o', 'y.mp4', '-m', 'model', '--frame-ranges', '50-10'),
      /--frame-ranges: 50-10: the range ends before it starts/,
    );
  });
});

describe.skipIf(!hasTestdata)('bad input files leave nothing behind and name the file (issue 10 item 14)', () => {
  let work: string;
  beforeAll(async () => {
    work = await scratchDir('cli-bad-input');
  });
  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('extract on a corrupt image: exit 2, no output folder, no alignments file', async () => {
    const photo = join(work, 'corrupt.jpg');
    await writeFile(photo, (await readFile(td('faces', 'multi2_obama-biden_fr-two_people.jpg'))).subarray(0, 5000));
    const out = join(work, 'faces-out');
    const r = cli('extract', '-i', photo, '-o', out);
    expect(r.code, r.stderr).toBe(2);
    expectOneLineError(r, 'corrupt.jpg', /not a readable image/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${photo}.alignments.json`)).toBe(false);
  });

  it('hand-edited alignments (frame "abc", frame 9999 of a short clip, a landmark of 1e300) are refused in one line', async () => {
    const clip = join(work, 'clip.mp4');
    await copyFile(videos.personA, clip);
    const sha256 = createHash('sha256')
      .update(await readFile(clip))
      .digest('hex');
    const probe = cli('probe', '-i', clip, '--json');
    const frames = (JSON.parse(probe.stdout.trim().split('\n').pop() ?? '{}') as { result: { frameCount: number } })
      .result.frameCount;
    expect(frames).toBeGreaterThan(10);
    const model = join(work, 'model');
    await mkdir(model);
    await writeFile(join(model, 'state.json'), '{}'); // a model folder by its look; the alignments are read first
    const face = {
      box: [100, 100, 120, 140],
      score: 0.9,
      landmarks68: Array.from({ length: 68 }, (_, i) => [120 + i, 150 + (i % 10)]),
      matrix: [
        [1, 0, -100],
        [0, 1, -100],
      ],
    };
    const doc = (framesOf: Record<string, unknown>, frameCount?: number) => ({
      format: 'faceswap-studio/alignments',
      version: 1,
      createdAt: '2026-12-01T00:00:00Z',
      updatedAt: '2026-12-01T00:00:00Z',
      generator: { app: 'faceswap-studio', detector: 'd', landmarks: 'l' },
      source: {
        kind: 'video',
        path: clip,
        width: 480,
        height: 480,
        fps: 25,
        ...(frameCount === undefined ? {} : { frameCount }),
        sha256,
      },
      settings: { size: 256, centering: 'face', everyN: 1, smooth: true, alignEyes: true },
      complete: true,
      frames: framesOf,
    });
    const far = { ...face, landmarks68: face.landmarks68.map((p, i) => (i === 30 ? [1e300, p[1]] : p)) };
    const cases: Array<[string, unknown, RegExp]> = [
      [
        'key.json',
        doc({ 0: { faces: [face] }, abc: { faces: [face] } }, frames),
        /frames\.abc: a video frame key must be a frame index/,
      ],
      ['past.json', doc({ 0: { faces: [face] }, 9999: { faces: [face] } }, frames), /frame 9999 is past the end/],
      ['past-nocount.json', doc({ 0: { faces: [face] }, 9999: { faces: [face] } }), /frame 9999 is past the end/],
      ['huge.json', doc({ 0: { faces: [far] } }, frames), /landmarks68\.30\.0: must lie within/],
    ];
    for (const [name, content, problem] of cases) {
      const file = join(work, name);
      await writeFile(file, JSON.stringify(content));
      const out = join(work, `out-${name}.mp4`);
      const r = cli('convert', '-i', clip, '-o', out, '-m', model, '-a', file);
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expectOneLineError(r, name, problem);
      expect(existsSync(out), name).toBe(false);
    }
  });
});
