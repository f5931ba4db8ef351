/**
 * Peak resident memory while a function runs, for the benches: this process (worker threads included) and, as
 * `peakTreeRssMiB`, with the processes it started (the ffmpeg decoders and encoders) added.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** This process's command line: a child that still has it has forked but not yet started its own program. */
const ownCmdline = (() => {
  try {
    return readFileSync('/proc/self/cmdline', 'utf8');
  } catch {
    return '';
  }
})();

/**
 * Resident memory (bytes) of the processes this one started and theirs (the ffmpeg decoders and encoders), from
 * Linux's /proc (`task/<tid>/children`, `VmRSS`); 0 where /proc has no such files.
 */
function childrenRss(pid = process.pid): number {
  let total = 0;
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  for (const tid of tids) {
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean);
    } catch {
      continue; // the thread ended, or no such file
    }
    for (const kid of kids) {
      try {
        // Between fork and exec a child's pages are this process's (shared copy-on-write): counting its RSS would
        // count them twice (seen as a 300-450 MiB "node" child for a few milliseconds when ffmpeg starts).
        if (ownCmdline && readFileSync(`/proc/${kid}/cmdline`, 'utf8') === ownCmdline) continue;
        const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${kid}/status`, 'utf8'))?.[1];
        total += Number(kb ?? 0) * 1024 + childrenRss(Number(kid));
      } catch {
        // the process ended between the two reads
      }
    }
  }
  return total;
}

/**
 * Peak RSS (MiB) while `fn` runs, sampled every 50 ms: this process (worker threads included) and, as
 * `peakTreeRssMiB`, with the processes it started (ffmpeg) added.
 */
export async function withPeakRss<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; peakRssMiB: number; peakTreeRssMiB: number }> {
  let peak = process.memoryUsage.rss();
  let peakTree = peak;
  const sample = () => {
    const own = process.memoryUsage.rss();
    peak = Math.max(peak, own);
    peakTree = Math.max(peakTree, own + childrenRss());
  };
  const timer = setInterval(sample, 50);
  try {
    const value = await fn();
    sample();
    return { value, peakRssMiB: Math.round(peak / 2 ** 20), peakTreeRssMiB: Math.round(peakTree / 2 ** 20) };
  } finally {
    clearInterval(timer);
  }
}
