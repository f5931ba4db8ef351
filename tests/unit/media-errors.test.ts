/**
 * Every bad input becomes a UserError with its code, ONE line, naming the file: missing path, folder, empty
 * file, text named .mp4, a real clip cut in half (index at the end: lost; index at the front: data stops
 * early), a clip corrupted in the middle (decoding fails mid-stream), an empty image folder.
 */
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError, type UserErrorCode } from '../../src-shared/errors';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { createVideoWriter } from '../../src-main/engine/media/encode';
import { resolveFfmpeg } from '../../src-main/engine/media/ffmpeg';
import { sha256File } from '../../src-main/engine/media/fs';
import { probeVideo } from '../../src-main/engine/media/probe';
import { runTool } from '../../src-main/engine/media/proc';
import { openSource } from '../../src-main/engine/media/source';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';

let dir: string;
beforeAll(async () => {
  dir = await scratchDir('media-errors');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function userError(p: Promise<unknown>): Promise<Error & { code: UserErrorCode }> {
  try {
    await p;
  } catch (e) {
    expect(isUserError(e), String(e)).toBe(true);
    return e as Error & { code: UserErrorCode };
  }
  throw new Error('expected a UserError');
}

async function expectError(p: Promise<unknown>, codes: UserErrorCode[], file: string): Promise<string> {
  const e = await userError(p);
  expect(codes).toContain(e.code);
  expect(e.message.startsWith(`${file}: `), e.message).toBe(true);
  expect(e.message).not.toMatch(/[\r\n]/);
  return e.message;
}

async function drain(path: string): Promise<number> {
  let n = 0;
  for await (const _f of decodeFrames(path)) n++;
  return n;
}

describe('bad inputs', () => {
  it('missing path -> not-found', async () => {
    const p = join(dir, 'nope', 'clip.mp4');
    await expectError(probeVideo(p), ['not-found'], p);
    await expectError(drain(p), ['not-found'], p);
    await expectError(openSource(p), ['not-found'], p);
    await expectError(sha256File(p), ['not-found'], p);
  });

  it('a folder where a video is expected -> not-a-file', async () => {
    await expectError(probeVideo(dir), ['not-a-file'], dir);
  });

  it('an empty file or a text file named .mp4 -> bad-media', async () => {
    const empty = join(dir, 'empty.mp4');
    await writeFile(empty, '');
    await expectError(probeVideo(empty), ['bad-media'], empty);
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'These are my notes, not a video.\n'.repeat(50));
    const msg = await expectError(probeVideo(text), ['bad-media'], text);
    expect(msg).toMatch(/not a video file/);
    await expectError(openSource(text), ['bad-media'], text);
  });

  it('an empty folder -> no-images', async () => {
    const empty = join(dir, 'no-images');
    await mkdir(empty, { recursive: true });
    await expectError(openSource(empty), ['no-images'], empty);
  });

  it.skipIf(!hasTestdata)('a real clip cut in half (index at the end) -> truncated', async () => {
    const bytes = await readFile(videos.personA);
    const half = join(dir, 'half.mp4');
    await writeFile(half, bytes.subarray(0, bytes.length >> 1));
    const msg = await expectError(probeVideo(half), ['truncated'], half);
    expect(msg).toMatch(/truncated/);
    await expectError(drain(half), ['truncated'], half);
  });

  it.skipIf(!hasTestdata)('a clip with its index first, cut in half -> truncated (data stops early)', async () => {
    const ff = await resolveFfmpeg();
    const whole = join(dir, 'faststart.mp4');
    const r = await runTool(ff.path, [
      '-nostdin',
      '-v',
      'error',
      '-y',
      '-i',
      videos.personA,
      '-c',
      'copy',
      '-movflags',
      '+faststart',
      whole,
    ]);
    expect(r.code).toBe(0);
    const bytes = await readFile(whole);
    const half = join(dir, 'faststart-half.mp4');
    await writeFile(half, bytes.subarray(0, bytes.length >> 1));
    const msg = await expectError(probeVideo(half), ['truncated'], half);
    expect(msg).toMatch(/216 frames/);
    await expectError(drain(half), ['truncated'], half);
  });

  it.skipIf(!hasTestdata)('a clip corrupted in the middle -> decoding fails mid-stream with bad-media', async () => {
    const bytes = Buffer.from(await readFile(videos.personA));
    // Overwrite 30 %..70 % of the file (inside the media data) with pseudo-random bytes.
    let x = 12345;
    for (let i = Math.floor(bytes.length * 0.3); i < Math.floor(bytes.length * 0.7); i++) {
      x = (x * 1103515245 + 12345) & 0x7fffffff;
      bytes[i] = x >> 16;
    }
    const bad = join(dir, 'corrupt.mp4');
    await writeFile(bad, bytes);
    const info = await probeVideo(bad);
    expect(info.frameCount).toBe(216); // the index is intact
    let n = 0;
    const e = await userError(
      (async () => {
        for await (const _f of decodeFrames(bad)) n++;
      })(),
    );
    expect(['bad-media', 'truncated']).toContain(e.code);
    expect(e.message.startsWith(`${bad}: decoding failed at frame ${n}`), e.message).toBe(true);
    expect(e.message).not.toMatch(/[\r\n]/);
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(216);
  });

  it('an output that cannot be written -> unwritable', async () => {
    const blocker = join(dir, 'a-file');
    await writeFile(blocker, 'a file where the output folder should be');
    const p = join(blocker, 'out.mp4');
    await expectError(createVideoWriter({ path: p, width: 64, height: 64, fps: 30 }), ['unwritable'], p);
    if (process.platform === 'linux') {
      // procfs refuses mkdir with ENOENT: Node's own recursive mkdir spins forever there; ours must not.
      const q = '/proc/fss-cannot-write/out.mp4';
      await expectError(createVideoWriter({ path: q, width: 64, height: 64, fps: 30 }), ['unwritable'], q);
    }
  }, 20_000);

  it.skipIf(!hasTestdata)('the content hash is the sha256 of the bytes', async () => {
    const copy = join(dir, 'copy.mp4');
    await copyFile(videos.personA, copy);
    expect(await sha256File(copy)).toBe('1dc94c1fec7ef7dc831c8a49f0e1788ae568812cb68e62f6875d9070f573d02a');
  });
});
