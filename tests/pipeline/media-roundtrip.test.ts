/**
 * Round trip of every test video: decode all frames, encode them at CRF 15 with the source's audio, probe the
 * output, decode it again and compare with the source frame by frame. Must hold: same frame count, same
 * displayed size and orientation, video duration within one frame, audio kept where the source has it, mean
 * PSNR >= 35 dB over all frames (computed here on RGB24).
 */
import { readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { createVideoWriter } from '../../src-main/engine/media/encode';
import { probeVideo } from '../../src-main/engine/media/probe';
import { liveMediaPids } from '../../src-main/engine/media/proc';
import { psnr } from '../../src-main/engine/media/psnr';
import { allVideos, hasTestdata, scratchDir } from '../helpers/testdata';

const list = hasTestdata ? await allVideos() : [];
let dir: string;
const rows: Array<Record<string, string | number | boolean>> = [];

beforeAll(async () => {
  dir = await scratchDir('media-roundtrip');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  if (rows.length) console.table(rows);
});

describe.skipIf(!hasTestdata)('media round trip (decode -> encode CRF 15 -> probe -> PSNR)', () => {
  it('finds the test videos', () => {
    expect(list.length).toBeGreaterThanOrEqual(7);
  });

  for (const src of list) {
    it(basename(src), async () => {
      const t0 = Date.now();
      const info = await probeVideo(src);
      const out = join(dir, `${basename(src, '.mp4')}.rt.mp4`);
      const writer = await createVideoWriter({
        path: out,
        width: info.width,
        height: info.height,
        fps: info.fpsRational,
        crf: 15,
        preset: 'veryfast',
        audioFrom: src,
        metadata: { comment: 'round-trip test output' },
      });
      let n = 0;
      for await (const f of decodeFrames(src)) {
        expect(f.index).toBe(n++);
        await writer.write(f.data);
      }
      await writer.close();
      const encodeMs = Date.now() - t0;

      const o = await probeVideo(out);
      expect(o.frameCount).toBe(info.frameCount);
      expect([o.width, o.height]).toEqual([info.width, info.height]);
      expect(o.rotation).toBe(0); // frames are written upright: the displayed orientation is kept
      expect(Math.abs(o.durationSec - info.durationSec)).toBeLessThanOrEqual(1 / info.fps + 1e-6);
      expect(o.hasAudio).toBe(info.hasAudio);
      if (info.hasAudio) expect(o.audioCodec).toBe(info.audioCodec);
      expect(o.tags.comment).toBe('round-trip test output');

      // Frame-by-frame PSNR, both videos decoded in lockstep (never more than a few frames in memory).
      const a = decodeFrames(src);
      const b = decodeFrames(out);
      let sum = 0;
      let min = Number.POSITIVE_INFINITY;
      let count = 0;
      try {
        for (;;) {
          const [x, y] = await Promise.all([a.next(), b.next()]);
          expect(x.done).toBe(y.done);
          if (x.done || y.done) break;
          const p = Math.min(100, psnr(x.value.data, y.value.data));
          sum += p;
          min = Math.min(min, p);
          count++;
        }
      } finally {
        await a.return();
        await b.return();
      }
      expect(count).toBe(info.frameCount);
      const mean = sum / count;
      rows.push({
        video: basename(src),
        size: `${info.width}x${info.height}`,
        fps: info.fpsRational,
        frames: `${info.frameCount} -> ${o.frameCount}`,
        durationSec: `${info.durationSec.toFixed(3)} -> ${o.durationSec.toFixed(3)}`,
        audio: `${info.audioCodec ?? 'none'} -> ${o.audioCodec ?? 'none'}`,
        meanPsnrDb: Number(mean.toFixed(2)),
        minPsnrDb: Number(min.toFixed(2)),
        seconds: Number(((Date.now() - t0) / 1000).toFixed(1)),
        encodeSeconds: Number((encodeMs / 1000).toFixed(1)),
      });
      expect(mean).toBeGreaterThanOrEqual(35);
      expect(liveMediaPids()).toEqual([]);
      expect((await readdir(dir)).filter((f) => f.endsWith('.part'))).toEqual([]);
    });
  }
});
