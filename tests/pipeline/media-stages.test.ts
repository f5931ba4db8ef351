/**
 * The media stages end to end through the registry, as the CLI runs them: `frames`, `video`, `probe`.
 * Checks results, progress invariants (fraction monotonic, ends at exactly 1, frames/s rate), cancellation
 * (no output left behind) and the user errors of bad options.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Progress } from '../../src-shared/progress';
import { isUserError } from '../../src-shared/errors';
import { parseOptions } from '../../src-shared/options';
import { findStage } from '../../src-main/engine/registry';
import { recordingContext } from '../../src-main/engine/stage';
import { probeVideo } from '../../src-main/engine/media/probe';
import { liveMediaPids } from '../../src-main/engine/media/proc';
import type { FramesResult, ProbeResult, VideoResult } from '../../src-main/engine/media/stages';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';

let dir: string;
beforeAll(async () => {
  dir = await scratchDir('media-stages');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(id: string, raw: Record<string, unknown>, signal?: AbortSignal) {
  const entry = findStage(id);
  if (!entry) throw new Error(`stage ${id} is not registered`);
  const runner = await entry.load();
  const ctx = recordingContext(signal);
  const result = await runner(parseOptions(entry.def.options, raw), ctx);
  return { result, ctx };
}

function checkProgress(events: Progress[], stage: string): void {
  expect(events.length).toBeGreaterThan(1);
  let last = -1;
  for (const e of events) {
    expect(e.stage).toBe(stage);
    expect(e.fraction).toBeGreaterThanOrEqual(last);
    expect(e.fraction).toBeLessThanOrEqual(1);
    last = e.fraction;
  }
  const end = events[events.length - 1] as Progress;
  expect(end.fraction).toBe(1);
  expect(end.done).toBe(end.total);
  expect(end.rateUnit).toBe('frames/s');
  expect(end.rate).toBeGreaterThan(0);
  expect(events.filter((e) => e.fraction === 1).length).toBe(1);
}

describe.skipIf(!hasTestdata)('media stages', () => {
  it('frames: a range, one in N, as jpg', async () => {
    const out = join(dir, 'framesB');
    const { result, ctx } = await run('frames', {
      input: videos.personB,
      output: out,
      format: 'jpg',
      everyN: 5,
      start: 3,
      end: 60,
    });
    const r = result as FramesResult;
    expect(r.frames).toBe(12); // 3, 8, ..., 58
    const names = (await readdir(out)).sort();
    expect(names.length).toBe(12);
    expect(names[0]).toBe('personB_short_lp-d19_000003.jpg');
    expect(names[11]).toBe('personB_short_lp-d19_000058.jpg');
    checkProgress(ctx.events, 'frames');
  });

  it('frames -> video -> probe: all frames of a clip back into an MP4 with its audio', async () => {
    const frames = join(dir, 'framesA');
    const f = (await run('frames', { input: videos.personA, output: frames })).result as FramesResult;
    expect([f.frames, f.width, f.height]).toEqual([216, 480, 480]);
    const out = join(dir, 'out', 'personA.mp4');
    const { result, ctx } = await run('video', {
      input: frames,
      output: out,
      audioFrom: videos.personA,
      preset: 'veryfast',
    });
    const v = result as VideoResult;
    expect(v).toMatchObject({
      frames: 216,
      width: 480,
      height: 480,
      fps: '30/1',
      crf: 18,
      audio: true,
      pixFmt: 'yuv420p',
    });
    expect(v.durationSec).toBeCloseTo(7.2, 2);
    checkProgress(ctx.events, 'video');
    const p = (await run('probe', { input: out })).result as ProbeResult;
    expect(p).toMatchObject({ kind: 'video', frameCount: 216, width: 480, height: 480, hasAudio: true });
    const folder = (await run('probe', { input: frames })).result as ProbeResult;
    expect(folder).toMatchObject({ kind: 'images', count: 216, width: 480, height: 480 });
    const hashed = (await run('probe', { input: videos.personA, hash: true })).result as ProbeResult;
    expect(hashed.kind === 'video' && hashed.sha256).toBe(
      '1dc94c1fec7ef7dc831c8a49f0e1788ae568812cb68e62f6875d9070f573d02a',
    );
  });

  it('video: frames named after a later part of the source get the audio of that part', async () => {
    const frames = join(dir, 'framesMid');
    await run('frames', { input: videos.personA, output: frames, start: 150, end: 180 });
    const out = join(dir, 'mid.mp4');
    const { result, ctx } = await run('video', {
      input: frames,
      output: out,
      audioFrom: videos.personA,
      preset: 'ultrafast',
    });
    expect((result as VideoResult).frames).toBe(30);
    expect(ctx.logs.some(([, m]) => /starts at frame 150/.test(m))).toBe(true);
    const info = await probeVideo(out);
    expect([info.frameCount, info.hasAudio]).toEqual([30, true]);
  });

  it('cancelling stops at the next frame and leaves no output behind', async () => {
    const frames = join(dir, 'framesA');
    const out = join(dir, 'cancelled.mp4');
    const ac = new AbortController();
    const entry = findStage('video');
    const runner = await entry!.load();
    const ctx = recordingContext(ac.signal);
    const progress = ctx.progress;
    ctx.progress = (p) => {
      progress(p);
      if ((p.done ?? 0) >= 20) ac.abort();
    };
    const err = await runner(
      parseOptions(entry!.def.options, { input: frames, output: out, preset: 'ultrafast' }),
      ctx,
    ).catch((e: unknown) => e);
    expect(isUserError(err) && err.code).toBe('cancelled');
    expect((await readdir(dir)).filter((n) => n.startsWith('.cancelled') || n === 'cancelled.mp4')).toEqual([]);
    expect(liveMediaPids()).toEqual([]);

    const ac2 = new AbortController();
    ac2.abort();
    const err2 = await run('frames', { input: videos.personA, output: join(dir, 'never') }, ac2.signal).catch(
      (e: unknown) => e,
    );
    expect(isUserError(err2) && err2.code).toBe('cancelled');
  });

  it('bad options and inputs are one-line user errors', async () => {
    const bad = async (id: string, raw: Record<string, unknown>, code: string, mentions: string) => {
      const e = await run(id, raw).catch((x: unknown) => x);
      expect(isUserError(e), String(e)).toBe(true);
      expect((e as { code: string }).code).toBe(code);
      expect((e as Error).message).toContain(mentions);
      expect((e as Error).message).not.toContain('\n');
    };
    await bad('frames', { input: videos.personA, output: join(dir, 'x'), start: 500 }, 'bad-option', '--start');
    await bad('frames', { input: videos.personA, output: join(dir, 'x'), everyN: 0 }, 'bad-option', '--every-n');
    await bad('video', { input: videos.personA, output: join(dir, 'x.mp4') }, 'not-a-file', videos.personA);
    await bad('video', { input: join(dir, 'framesA'), output: join(dir, 'x.avi') }, 'bad-option', 'x.avi');
    await bad('video', { input: join(dir, 'framesA'), output: join(dir, 'x.mp4'), fps: 'fast' }, 'bad-option', 'fps');
    const mixed = join(dir, 'mixed');
    await mkdir(mixed, { recursive: true });
    await writeFile(
      join(mixed, 'a1.png'),
      await sharp({ create: { width: 64, height: 48, channels: 3, background: '#102030' } })
        .png()
        .toBuffer(),
    );
    await writeFile(
      join(mixed, 'a2.png'),
      await sharp({ create: { width: 64, height: 50, channels: 3, background: '#102030' } })
        .png()
        .toBuffer(),
    );
    await bad(
      'video',
      { input: mixed, output: join(dir, 'mixed.mp4'), preset: 'ultrafast' },
      'mismatch',
      join(mixed, 'a2.png'),
    );
    expect((await readdir(dir)).filter((n) => n.includes('mixed.mp4'))).toEqual([]);
    await bad('probe', { input: join(dir, 'missing.mov') }, 'not-found', join(dir, 'missing.mov'));
  });
});
