/**
 * Probe, decode and encode on real clips (small ones: person A 480x480, the 640x360 TV clip whose video starts
 * 0.84 s into the file) and on fixtures made from them with ffmpeg: a rotated copy, an odd-size 481x271
 * clip, a variable-frame-rate clip and a PCM-audio .mov.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { decodeFrames, type Frame } from '../../src-main/engine/media/decode';
import { createVideoWriter } from '../../src-main/engine/media/encode';
import { fpsToRational } from '../../src-main/engine/media/encode-args';
import { resolveFfmpeg } from '../../src-main/engine/media/ffmpeg';
import { probeVideo } from '../../src-main/engine/media/probe';
import { liveMediaPids, runTool } from '../../src-main/engine/media/proc';
import { meanAbsDiff, psnr } from '../../src-main/engine/media/psnr';
import { openSource } from '../../src-main/engine/media/source';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';

let dir: string;
beforeAll(async () => {
  dir = await scratchDir('media-video');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function ffmpeg(...args: string[]): Promise<void> {
  const ff = await resolveFfmpeg();
  const r = await runTool(ff.path, ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args], {
    timeoutMs: 120_000,
  });
  if (r.code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed: ${r.stderr}`);
}

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function collect(gen: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of gen) out.push(f);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hasTestdata)('probe', () => {
  it('reads size, rate, exact frame count, duration and audio', async () => {
    const a = await probeVideo(videos.personA);
    expect(a).toMatchObject({
      width: 480,
      height: 480,
      codedWidth: 480,
      codedHeight: 480,
      rotation: 0,
      fps: 30,
      fpsRational: '30/1',
      variableFrameRate: false,
      frameCount: 216,
      frameCountSource: 'packets',
      videoCodec: 'h264',
      pixFmt: 'yuv420p',
      hasAudio: true,
      audioCodec: 'aac',
    });
    expect(a.durationSec).toBeCloseTo(7.2, 3);
    const v = await probeVideo(videos.vertical);
    expect([v.width, v.height, v.rotation, v.hasAudio, v.frameCount]).toEqual([720, 1280, 0, false, 352]);
    const s = await probeVideo(videos.sceneCuts);
    expect([s.width, s.height, s.frameCount, s.fpsRational]).toEqual([640, 360, 275, '2997/100']);
    expect(s.startTimeSec).toBeCloseTo(0.844, 3);
  });
});

describe.skipIf(!hasTestdata)('decodeFrames', () => {
  it('starts exactly at any index (checked against a full decode), with every and end', async () => {
    for (const path of [videos.personA, videos.sceneCuts]) {
      const full = await collect(decodeFrames(path));
      const info = await probeVideo(path);
      expect(full.length).toBe(info.frameCount);
      expect(full.map((f) => f.index)).toEqual(full.map((_, i) => i));
      const hashes = full.map((f) => md5(f.data));
      for (const start of [1, 2, 29, 30, 31, 97, 150, info.frameCount - 1]) {
        // The check is only meaningful where neighbouring frames differ.
        expect(new Set([hashes[start - 1], hashes[start], hashes[start + 1]].filter(Boolean)).size).toBe(
          start + 1 < hashes.length ? 3 : 2,
        );
        const got = await collect(decodeFrames(path, { start, end: start + 7, every: 3 }));
        const want = [start, start + 3, start + 6].filter((i) => i < info.frameCount);
        expect(got.map((f) => f.index)).toEqual(want);
        expect(got.map((f) => md5(f.data))).toEqual(want.map((i) => hashes[i]));
        expect(got[0]?.timeSec).toBeCloseTo(full[start]?.timeSec ?? -1, 6);
      }
      // timestamps increase by one frame
      expect((full[1]?.timeSec ?? 0) - (full[0]?.timeSec ?? 0)).toBeCloseTo(1 / info.fps, 4);
    }
  });

  it('scales to a requested size, odd sizes kept exact', async () => {
    const f = await collect(decodeFrames(videos.personA, { end: 2, width: 241 }));
    expect([f[0]?.width, f[0]?.height, f[0]?.data.length]).toEqual([241, 241, 241 * 241 * 3]);
    const g = await collect(decodeFrames(videos.sceneCuts, { end: 1, height: 181 }));
    expect([g[0]?.width, g[0]?.height]).toEqual([322, 181]);
  });

  it('kills ffmpeg on early break and on abort', async () => {
    const before = new Set(liveMediaPids());
    let pid: number | undefined;
    let n = 0;
    for await (const f of decodeFrames(videos.vertical)) {
      pid ??= liveMediaPids().find((p) => !before.has(p));
      expect(f.data.length).toBe(720 * 1280 * 3);
      if (++n === 3) break;
    }
    expect(pid).toBeDefined();
    expect(liveMediaPids()).not.toContain(pid);
    expect(alive(pid as number)).toBe(false);

    const ac = new AbortController();
    let pid2: number | undefined;
    let m = 0;
    const run = async () => {
      for await (const _f of decodeFrames(videos.vertical, { signal: ac.signal })) {
        pid2 ??= liveMediaPids().find((p) => !before.has(p));
        if (++m === 2) ac.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ code: 'cancelled' });
    expect(m).toBeLessThan(5);
    expect(pid2).toBeDefined();
    expect(alive(pid2 as number)).toBe(false);
  });

  it('holds back ffmpeg while the consumer is busy (back-pressure: never the whole video in memory)', async () => {
    // 352 frames of 720x1280 RGB24 are 973 MB; with back-pressure only a few frames are ever buffered.
    const base = process.memoryUsage().arrayBuffers;
    let n = 0;
    for await (const _f of decodeFrames(videos.vertical)) {
      if (++n === 1) await new Promise((r) => setTimeout(r, 2500));
      if (n === 2) {
        expect(process.memoryUsage().arrayBuffers - base).toBeLessThan(150 * 2 ** 20);
        break;
      }
    }
  });

  it('applies rotation: a quarter-turn-tagged clip comes out portrait, the same pixels turned', async () => {
    const rotated = join(dir, 'rotated.mp4');
    // Which quarter turn the `rotate` tag writes differs between ffmpeg versions; the test follows the probe.
    await ffmpeg('-i', videos.sceneCuts, '-t', '1', '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated);
    const info = await probeVideo(rotated);
    expect([90, 270]).toContain(info.rotation);
    expect([info.width, info.height, info.codedWidth, info.codedHeight]).toEqual([360, 640, 640, 360]);
    const [r] = await collect(decodeFrames(rotated, { end: 1 }));
    const [o] = await collect(decodeFrames(videos.sceneCuts, { end: 1 }));
    expect([r?.width, r?.height]).toEqual([360, 640]);
    // Stored W x H = 640 x 360. Clockwise 90: displayed (x, y) shows stored (y, H-1-x); 270: (W-1-y, x).
    const turned = Buffer.alloc(360 * 640 * 3);
    for (let y = 0; y < 640; y++)
      for (let x = 0; x < 360; x++) {
        const src = info.rotation === 90 ? ((360 - 1 - x) * 640 + y) * 3 : (x * 640 + (640 - 1 - y)) * 3;
        o?.data.copy(turned, (y * 360 + x) * 3, src, src + 3);
      }
    expect(meanAbsDiff(turned, r?.data as Buffer)).toBeLessThan(2);
  });

  it('reports variable frame rate and decodes every frame of it once', async () => {
    const vfr = join(dir, 'vfr.mp4');
    // 45 frames; after frame 20 the clock jumps by 10 frame durations.
    await ffmpeg(
      '-i',
      videos.personA,
      '-vf',
      "trim=end_frame=45,setpts='(N+10*gte(N,20))/30/TB'",
      '-vsync',
      'vfr',
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      vfr,
    );
    const info = await probeVideo(vfr);
    expect(info.frameCount).toBe(45);
    expect(info.variableFrameRate).toBe(true);
    const frames = await collect(decodeFrames(vfr));
    expect(frames.length).toBe(45);
    expect((frames[20]?.timeSec ?? 0) - (frames[19]?.timeSec ?? 0)).toBeCloseTo(11 / 30, 3);
    const tail = await collect(decodeFrames(vfr, { start: 21, end: 23 }));
    expect(tail.map((f) => md5(f.data))).toEqual([21, 22].map((i) => md5(frames[i]?.data as Buffer)));
  });
});

describe.skipIf(!hasTestdata)('createVideoWriter', () => {
  it('round-trips an odd-size 481x271 clip at its exact size (4:4:4) and crops it on request', async () => {
    const odd = join(dir, 'odd.mp4');
    await ffmpeg(
      '-i',
      videos.sceneCuts,
      '-t',
      '1',
      '-an',
      '-vf',
      'format=yuv444p,crop=481:271:40:20',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '10',
      '-pix_fmt',
      'yuv444p',
      odd,
    );
    const info = await probeVideo(odd);
    expect([info.width, info.height, info.frameCount]).toEqual([481, 271, 30]);
    const src = await collect(decodeFrames(odd));
    expect(src[0]?.data.length).toBe(481 * 271 * 3);

    const warnings: string[] = [];
    const out = join(dir, 'odd-out.mp4');
    const w = await createVideoWriter({
      path: out,
      width: 481,
      height: 271,
      fps: info.fpsRational,
      crf: 15,
      preset: 'veryfast',
      onWarning: (m) => warnings.push(m),
    });
    expect(w.pixFmt).toBe('yuv444p');
    for (const f of src) await w.write(f.data);
    await w.close();
    expect(warnings.join()).toMatch(/odd frame size 481x271/);
    const o = await probeVideo(out);
    expect([o.width, o.height, o.frameCount, o.pixFmt]).toEqual([481, 271, 30, 'yuv444p']);
    const back = await collect(decodeFrames(out));
    const scores = back.map((f, i) => psnr(f.data, src[i]?.data as Buffer));
    expect(Math.min(...scores)).toBeGreaterThan(35);

    const cropped = join(dir, 'odd-crop.mp4');
    const c = await createVideoWriter({
      path: cropped,
      width: 481,
      height: 271,
      fps: 30,
      preset: 'veryfast',
      oddSize: 'crop',
    });
    for (const f of src.slice(0, 5)) await c.write(f.data);
    await c.close();
    const ci = await probeVideo(cropped);
    expect([ci.width, ci.height, ci.pixFmt, c.outputWidth, c.outputHeight]).toEqual([480, 270, 'yuv420p', 480, 270]);
  });

  it('an aborted or failed encode leaves an existing output untouched and no temp file', async () => {
    const out = join(dir, 'keep.mp4');
    await writeFile(out, 'OLD CONTENT');
    const frames = await collect(decodeFrames(videos.personA, { end: 8 }));
    const w = await createVideoWriter({ path: out, width: 480, height: 480, fps: 30, preset: 'ultrafast' });
    for (const f of frames) await w.write(f.data);
    await w.abort();
    await expect(w.write(frames[0]?.data as Buffer)).rejects.toMatchObject({ code: 'cancelled' });
    expect(await readFile(out, 'utf8')).toBe('OLD CONTENT');
    expect((await readdir(dir)).filter((n) => n.includes('.part'))).toEqual([]);

    // abort through the signal
    const ac = new AbortController();
    const w2 = await createVideoWriter({
      path: out,
      width: 480,
      height: 480,
      fps: 30,
      preset: 'ultrafast',
      signal: ac.signal,
    });
    await w2.write(frames[0]?.data as Buffer);
    ac.abort();
    await expect(w2.write(frames[1]?.data as Buffer)).rejects.toMatchObject({ code: 'cancelled' });
    expect(await readFile(out, 'utf8')).toBe('OLD CONTENT');

    // a wrong frame size is a programming error, not a silent corruption
    const w3 = await createVideoWriter({ path: out, width: 480, height: 480, fps: 30, preset: 'ultrafast' });
    await expect(w3.write(Buffer.alloc(10))).rejects.toThrow(/expected 691200/);
    await w3.abort();
    expect((await readdir(dir)).filter((n) => n.includes('.part'))).toEqual([]);

    // a completed encode replaces it
    const w4 = await createVideoWriter({ path: out, width: 480, height: 480, fps: 30, preset: 'ultrafast' });
    for (const f of frames) await w4.write(f.data);
    await w4.close();
    expect((await probeVideo(out)).frameCount).toBe(8);
    expect((await readdir(dir)).filter((n) => n.includes('.part'))).toEqual([]);
  });

  it('writes container tags, copies AAC audio and re-encodes PCM audio to AAC for MP4', async () => {
    const frames = await collect(decodeFrames(videos.personA, { end: 30 }));
    const out = join(dir, 'tagged.mp4');
    const w = await createVideoWriter({
      path: out,
      width: 480,
      height: 480,
      fps: 30,
      preset: 'ultrafast',
      audioFrom: videos.personA,
      metadata: { comment: 'synthetic media: face swapped', synthetic_media: 'true' },
    });
    for (const f of frames) await w.write(f.data);
    await w.close();
    const o = await probeVideo(out);
    expect(o.tags.comment).toBe('synthetic media: face swapped');
    expect(o.tags.synthetic_media).toBe('true');
    expect([o.hasAudio, o.audioCodec, o.frameCount]).toEqual([true, 'aac', 30]);

    const pcm = join(dir, 'pcm.mov');
    await ffmpeg('-i', videos.personA, '-t', '1', '-c:v', 'copy', '-c:a', 'pcm_s16le', pcm);
    expect((await probeVideo(pcm)).audioCodec).toBe('pcm_s16le');
    const warnings: string[] = [];
    const out2 = join(dir, 'pcm-out.mp4');
    const w2 = await createVideoWriter({
      path: out2,
      width: 480,
      height: 480,
      fps: 30,
      preset: 'ultrafast',
      audioFrom: pcm,
      onWarning: (m) => warnings.push(m),
    });
    for (const f of frames) await w2.write(f.data);
    await w2.close();
    expect(warnings.join()).toMatch(/re-encoded to AAC/);
    const o2 = await probeVideo(out2);
    expect([o2.audioCodec, o2.frameCount]).toEqual(['aac', 30]);
  });

  it('normalises frame rates', () => {
    expect(fpsToRational(30)).toBe('30/1');
    expect(fpsToRational(29.97)).toBe('30000/1001');
    expect(fpsToRational(23.976)).toBe('24000/1001');
    expect(fpsToRational('2997/100')).toBe('2997/100');
    expect(fpsToRational('25')).toBe('25/1');
    expect(fpsToRational(12.5)).toBe('12500/1000');
    expect(() => fpsToRational('fast')).toThrow(/not a frame rate/);
    expect(() => fpsToRational(0)).toThrow();
  });
});

describe.skipIf(!hasTestdata)('openSource on a video', () => {
  it('keys frames by index and names them <stem>_<index>', async () => {
    const src = await openSource(videos.personA);
    expect(src.kind).toBe('video');
    expect(src.count).toBe(216);
    const got = [];
    for await (const f of src.frames({ start: 5, end: 7 })) got.push([f.key, f.name]);
    expect(got).toEqual([
      [5, 'personA_short_lp-d18_000005'],
      [6, 'personA_short_lp-d18_000006'],
    ]);
  });

  it('errors are UserErrors', async () => {
    await expect(openSource(join(dir, 'nope.mp4'))).rejects.toSatisfy(
      (e: unknown) => isUserError(e) && (e as { code: string }).code === 'not-found',
    );
  });
});
