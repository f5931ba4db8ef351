import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  configureMediaTools,
  ffmpegFacts,
  findOnPath,
  parseVersionLine,
  resetMediaToolsCache,
  resolveFfmpeg,
  resolveFfprobe,
} from '../../src-main/engine/media/ffmpeg';
import { scratchDir } from '../helpers/testdata';
import { expectUserError } from '../helpers/user-error';

let dir: string;
const savedEnv = { FSS_FFMPEG: process.env.FSS_FFMPEG, FSS_FFPROBE: process.env.FSS_FFPROBE };

beforeAll(async () => {
  dir = await scratchDir('media-ffmpeg');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  configureMediaTools({});
});

describe('ffmpeg / ffprobe resolution', () => {
  it('finds the bundled tools with a parsed version and their source', async () => {
    delete process.env.FSS_FFMPEG;
    delete process.env.FSS_FFPROBE;
    resetMediaToolsCache();
    const ff = await resolveFfmpeg();
    expect(['ffmpeg-static', '@ffmpeg-installer/ffmpeg', 'PATH']).toContain(ff.source);
    expect(ff.versionLine).toMatch(/^ffmpeg version /);
    expect(ff.version.length).toBeGreaterThan(0);
    expect(ff.encoders.libx264).toBe(true);
    expect(['-fps_mode', '-vsync']).toContain(ff.fpsModeFlag);
    const fp = await resolveFfprobe();
    expect(['@ffprobe-installer/ffprobe', 'ffprobe-static', 'PATH']).toContain(fp.source);
    expect(fp.versionLine).toMatch(/^ffprobe version /);
    // cached: the same object comes back
    expect(await resolveFfmpeg()).toBe(ff);
  });

  it('a user setting wins, and an explicit path option too', async () => {
    resetMediaToolsCache();
    const bundled = await resolveFfmpeg();
    configureMediaTools({ ffmpegPath: bundled.path });
    const viaSetting = await resolveFfmpeg();
    expect(viaSetting.source).toBe('setting');
    expect(viaSetting.path).toBe(bundled.path);
    const viaOption = await resolveFfmpeg({ path: bundled.path });
    expect(viaOption.source).toBe('setting');
  });

  it('FSS_FFMPEG pointing nowhere is an unavailable error naming the path (no silent fallback)', async () => {
    process.env.FSS_FFMPEG = join(dir, 'no-such-ffmpeg');
    resetMediaToolsCache();
    await expectUserError(resolveFfmpeg(), 'unavailable', join(dir, 'no-such-ffmpeg'));
    const facts = await ffmpegFacts();
    expect(facts.ffmpeg).toBeUndefined();
    expect(facts.ffprobe?.path).toBeTruthy();
    expect(facts.error).toContain('FSS_FFMPEG');
  });

  it('a path that is not ffmpeg is refused', async () => {
    const fake = join(dir, 'not-ffmpeg.sh');
    await writeFile(fake, '#!/bin/sh\necho hello\n');
    await chmod(fake, 0o755);
    await expectUserError(resolveFfmpeg({ path: fake }), 'unavailable', fake);
  });

  it('ffmpegFacts reports both tools when present', async () => {
    resetMediaToolsCache();
    const facts = await ffmpegFacts();
    expect(facts.error).toBeUndefined();
    expect(facts.ffmpeg?.version).toBeTruthy();
    expect(facts.ffprobe?.version).toBeTruthy();
  });

  it.skipIf(process.platform === 'win32')('finds an executable on PATH', async () => {
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const exe = join(bin, 'ffmpeg');
    await writeFile(exe, '#!/bin/sh\necho "ffmpeg version 9.9-test Copyright (c) the FFmpeg developers"\n');
    await chmod(exe, 0o755);
    await writeFile(join(bin, 'ffprobe'), 'not executable');
    expect(findOnPath('ffmpeg', { PATH: `/nonexistent:${bin}` })).toBe(exe);
    expect(findOnPath('ffprobe', { PATH: bin })).toBeUndefined();
    const r = await resolveFfmpeg({ path: exe });
    expect(r.version).toBe('9.9-test');
  });

  it('parses version lines', () => {
    expect(parseVersionLine('ffmpeg version 6.1.1-3ubuntu5 Copyright (c) 2000-2023\nbuilt with gcc')).toEqual({
      version: '6.1.1-3ubuntu5',
      versionLine: 'ffmpeg version 6.1.1-3ubuntu5 Copyright (c) 2000-2023',
    });
    expect(parseVersionLine('ffprobe version N-66595-gc2b38619c0-static https://x').version).toBe(
      'N-66595-gc2b38619c0-static',
    );
  });
});
