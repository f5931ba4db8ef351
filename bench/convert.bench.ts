/**
 * Conversion speed on this machine, with a lightweight model (trained for 1 iteration: the speed of a model does
 * not depend on its training): the single-frame preview on a 720p frame (cold: decode + model + blend; re-blend
 * after a blend option changed), and the whole convert stage (decode, model, blend, encode, label) in frames/s
 * on a 480p clip (personA, 216 frames) and a 720p clip (edge_vertical720p, first 120 frames, 720x1280), default
 * options. Alignments come from extract beforehand (not timed).
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench } from './types';
import { hasTestdata, videos } from '../tests/helpers/testdata';
import { median } from './compare';
import { cutClip } from '../tests/helpers/clips';
import { extractFaces, quickModel } from './fixtures';

interface Setup {
  dir: string;
  model: string;
  a480: string;
  v720: string;
}
let setup: Promise<Setup> | null = null;
/** Signings timed per format by convert.c2pa (after one warm-up). */
const SIGNINGS = 30;

async function prepare(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'fss-bench-convert-'));
  const a480 = join(dir, 'personA.mp4');
  await cp(videos.personA, a480);
  // 720p: the first 120 frames of the vertical clip.
  const v720 = join(dir, 'vertical720.mp4');
  await cutClip(videos.vertical, v720, 120);
  await extractFaces(a480, join(dir, 'facesA'));
  await extractFaces(v720, join(dir, 'facesV'));
  const model = await quickModel(dir, join(dir, 'facesA'), join(dir, 'facesA'));
  return { dir, model, a480, v720 };
}

async function fullConvert(pick: (s: Setup) => string): Promise<Record<string, unknown>> {
  if (!hasTestdata) return { skipped: 'test data not found' };
  setup ??= prepare();
  const s = await setup;
  const { runConvert } = await import('../src-main/engine/convert/run');
  const { parseOptions } = await import('../src-shared/options');
  const { convertOptions } = await import('../src-shared/stages/convert');
  const { quietContext } = await import('../src-main/engine/stage');
  const input = pick(s);
  const t0 = performance.now();
  const r = await runConvert(
    parseOptions(convertOptions, { input, output: join(s.dir, 'out.mp4'), model: s.model }),
    quietContext(),
  );
  const ms = performance.now() - t0;
  return {
    framesPerSecond: +(r.frames / (ms / 1000)).toFixed(2),
    frames: r.frames,
    faces: r.faces,
    elapsedMs: Math.round(ms),
  };
}

export const benches: Bench[] = [
  {
    name: 'convert.c2pa',
    description:
      'C2PA Content Credentials (c2pa-rs as WebAssembly): signing the 480p clip (personA MP4) and a 960x845 PNG in memory: median wall ms and CPU ms per signing of 30 after one warm-up, with the bytes added',
    async run() {
      if (!hasTestdata) return { skipped: 'test data not found' };
      const { ContentCredentials } = await import('../src-main/engine/convert/content-credentials');
      const { readFile } = await import('node:fs/promises');
      const { td } = await import('../tests/helpers/testdata');
      const dir = await mkdtemp(join(tmpdir(), 'fss-bench-c2pa-'));
      try {
        const cc = await ContentCredentials.open(join(dir, 'id'));
        const what = { title: 'bench', description: 'bench' };
        const out: Record<string, unknown> = {};
        for (const [key, file, format] of [
          ['mp4', videos.personA, 'video/mp4'],
          ['png', td('landmarks', '300w', 'indoor_029.png'), 'image/png'],
        ] as const) {
          const bytes = await readFile(file);
          await cc.sign(bytes, format, what); // warm-up (WebAssembly compile on the first call)
          // One signing takes ~10 ms: the median of many, each timed to the microsecond, not one whole-ms reading.
          // The process's CPU time per signing too (signing is single-threaded): on a busy machine, wall time
          // includes waiting for a core.
          const ms: number[] = [];
          const cpuMs: number[] = [];
          let signed: Uint8Array = bytes;
          for (let i = 0; i < SIGNINGS; i++) {
            const c0 = process.cpuUsage();
            const t0 = performance.now();
            signed = await cc.sign(bytes, format, what);
            ms.push(performance.now() - t0);
            const c = process.cpuUsage(c0);
            cpuMs.push((c.user + c.system) / 1000);
          }
          out[`${key}Ms`] = +median(ms).toFixed(2);
          out[`${key}CpuMs`] = +median(cpuMs).toFixed(2);
          out[`${key}BytesAdded`] = signed.length - bytes.length;
        }
        return { ...out, signings: SIGNINGS };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'convert.preview.720p',
    description:
      'single-frame preview, 720x1280 frame 60, lightweight model, default options: cold (decode + model + blend) and re-blend after a blend option change, ms',
    async run() {
      if (!hasTestdata) return { skipped: 'test data not found' };
      setup ??= prepare();
      const s = await setup;
      const { createPreviewer } = await import('../src-main/engine/convert/preview');
      const t0 = performance.now();
      const p = await createPreviewer({ input: s.v720, model: s.model });
      const openMs = performance.now() - t0;
      try {
        const cold = await p.preview(60);
        const other = await p.preview(61);
        const reblend = await p.preview(61, { color: 'hist', erosion: 2 });
        const seamless = await p.preview(61, { seamless: true });
        return {
          openMs: Math.round(openMs),
          frameMs: Math.round(cold.ms),
          nextFrameMs: Math.round(other.ms),
          reblendMs: Math.round(reblend.ms),
          reblendSeamlessMs: Math.round(seamless.ms),
          faces: cold.faces,
        };
      } finally {
        p.dispose();
      }
    },
  },
  {
    name: 'convert.480p',
    description:
      'convert stage frames/s, personA_short_lp-d18.mp4 (480x480, 216 frames, audio), lightweight model, default options (crf 18, preset medium)',
    run: () => fullConvert((s) => s.a480),
  },
  {
    name: 'convert.720p',
    description:
      'convert stage frames/s, edge_vertical720p first 120 frames (720x1280), lightweight model, default options',
    async run() {
      const r = await fullConvert((s) => s.v720);
      const s = await setup;
      if (s) await rm(s.dir, { recursive: true, force: true });
      return r;
    },
  },
];
