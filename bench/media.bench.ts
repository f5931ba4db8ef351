/**
 * Media engine throughput: decode (ffmpeg -> RGB24 pipe) and encode (RGB24 pipe -> libx264 CRF 18, preset
 * medium, yuv420p) in frames per second, at 480p (person A, 480x480) and 720p (the vertical 720x1280 clip).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrames } from '../src-main/engine/media/decode';
import { createVideoWriter } from '../src-main/engine/media/encode';
import { resolveFfmpeg } from '../src-main/engine/media/ffmpeg';
import { probeVideo } from '../src-main/engine/media/probe';
import { hasTestdata, videos } from '../tests/helpers/testdata';
import type { Bench } from './types';

async function decodeBench(path: string): Promise<Record<string, unknown>> {
  if (!hasTestdata) return { skipped: 'test data not found' };
  const info = await probeVideo(path);
  const ff = await resolveFfmpeg();
  const t0 = performance.now();
  let frames = 0;
  for await (const _f of decodeFrames(path)) frames++;
  const sec = (performance.now() - t0) / 1000;
  return {
    video: path.split('/').pop(),
    size: `${info.width}x${info.height}`,
    frames,
    seconds: +sec.toFixed(3),
    framesPerSec: +(frames / sec).toFixed(1),
    ffmpeg: ff.version,
  };
}

async function encodeBench(path: string, distinct: number, total: number): Promise<Record<string, unknown>> {
  if (!hasTestdata) return { skipped: 'test data not found' };
  const info = await probeVideo(path);
  const pool: Buffer[] = [];
  for await (const f of decodeFrames(path, { end: distinct })) pool.push(f.data);
  const dir = await mkdtemp(join(tmpdir(), 'fss-bench-media-'));
  try {
    const out = join(dir, 'bench.mp4');
    const t0 = performance.now();
    const w = await createVideoWriter({
      path: out,
      width: info.width,
      height: info.height,
      fps: info.fpsRational,
      crf: 18,
      preset: 'medium',
    });
    // Play the pool forwards then backwards so consecutive frames stay similar, like real video.
    for (let i = 0; i < total; i++) {
      const k = i % (2 * pool.length);
      await w.write(pool[k < pool.length ? k : 2 * pool.length - 1 - k] as Buffer);
    }
    await w.close();
    const sec = (performance.now() - t0) / 1000;
    return {
      video: path.split('/').pop(),
      size: `${info.width}x${info.height}`,
      crf: 18,
      preset: 'medium',
      frames: total,
      seconds: +sec.toFixed(3),
      framesPerSec: +(total / sec).toFixed(1),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [
  {
    name: 'media.decode.480p',
    description: 'decode 480x480 H.264 to RGB24 frames, frames/s',
    run: () => decodeBench(videos.personA),
  },
  {
    name: 'media.decode.720p',
    description: 'decode 720x1280 H.264 to RGB24 frames, frames/s',
    run: () => decodeBench(videos.vertical),
  },
  {
    name: 'media.encode.480p',
    description: 'encode 480x480 RGB24 frames to H.264 (CRF 18, medium), frames/s',
    run: () => encodeBench(videos.personA, 60, 180),
  },
  {
    name: 'media.encode.720p',
    description: 'encode 720x1280 RGB24 frames to H.264 (CRF 18, medium), frames/s',
    run: () => encodeBench(videos.vertical, 30, 120),
  },
];
