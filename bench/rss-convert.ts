/**
 * One conversion in a process of its own, for breakdown.convert.rss.1080p: `node --import tsx bench/rss-convert.ts
 * '{"input":...,"output":...,"model":...}'` converts at the default options (quality report on, every core) and
 * prints one JSON line: frames, workers, frames/s and the peak RSS of this process and of it with its ffmpeg
 * processes (bench/rss.ts).
 */
import { runConvert } from '../src-main/engine/convert/run';
import { quietContext } from '../src-main/engine/stage';
import { parseOptions } from '../src-shared/options';
import { convertOptions } from '../src-shared/stages/convert';
import { withPeakRss } from './rss';

const args = JSON.parse(process.argv[2] ?? '{}') as { input: string; output: string; model: string };
const t0 = performance.now();
const {
  value: r,
  peakRssMiB,
  peakTreeRssMiB,
} = await withPeakRss(() => runConvert(parseOptions(convertOptions, args), quietContext()));
console.log(
  JSON.stringify({
    frames: r.frames,
    workers: r.workers,
    framesPerSecond: +(r.frames / ((performance.now() - t0) / 1000)).toFixed(2),
    peakRssMiB,
    peakTreeRssMiB,
  }),
);
