/**
 * Fault injection on convert's commit (docs/reliability.md): kill -9 at each step between finishing the video,
 * signing it, writing its provenance and putting both in place (a child process, FSS_FAULT), and a full disk
 * at every checked write (in this process, setFault). A provenance sidecar, when there is one, always describes
 * the video beside it (its sha256 and frame count); the next run's sweep restores a whole pair and leaves no
 * temporary file. A synthetic swapper stands in for a model (the commit does not depend on it), and the input
 * is person A's first 12 frames with their alignments, so no run needs the face detector.
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { parseOptions } from '../../src-shared/options';
import { convertOptions } from '../../src-shared/stages/convert';
import { extractOptions } from '../../src-shared/stages/extract';
import { runConvert } from '../../src-main/engine/convert/run';
import { runExtract } from '../../src-main/engine/extract/run';
import { syntheticSwapper } from '../../src-main/engine/convert/swapper';
import { sha256File } from '../../src-main/engine/media/fs';
import { probeVideo } from '../../src-main/engine/media/probe';
import { quietContext } from '../../src-main/engine/stage';
import { setFault } from '../../src-main/engine/util/faults';
import { cutClip } from '../helpers/clips';
import { hasTestdata, repoRoot, scratchDir, videos } from '../helpers/testdata';

let dir = '';
let script = '';
let clip = '';
const src = (p: string) => JSON.stringify(pathToFileURL(join(repoRoot, p)).href);
const opts = (output: string, extra: Record<string, unknown> = {}) => ({
  input: clip,
  output,
  model: 'synthetic',
  color: 'none',
  frameRanges: ['0-11'],
  discardFrames: true,
  qualityReport: false,
  ...extra,
});

// argv: options JSON, sweep-only flag.
const child = `
import { parseOptions } from ${src('src-shared/options.ts')};
import { convertOptions } from ${src('src-shared/stages/convert.ts')};
import { runConvert } from ${src('src-main/engine/convert/run.ts')};
import { sweepConvertLeftovers } from ${src('src-main/engine/convert/output.ts')};
import { syntheticSwapper } from ${src('src-main/engine/convert/swapper.ts')};
const o = JSON.parse(process.argv[2]);
if (process.argv[3] === 'sweep') {
  console.log(JSON.stringify(await sweepConvertLeftovers(o.output)));
} else {
  const ctx = { signal: new AbortController().signal, progress: () => {}, log: () => {} };
  await runConvert(parseOptions(convertOptions, o), ctx, { swapper: syntheticSwapper({ kind: 'shift', amount: 0.2 }) });
  console.log('converted');
}
`;

function run(o: Record<string, unknown>, fault = '', sweep = false) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, JSON.stringify(o), sweep ? 'sweep' : ''], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, FSS_FAULT: fault, FSS_CONFIG_DIR: join(dir, 'config') },
    timeout: 180_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

interface Provenance {
  output: { path: string; frames: number; sha256?: string };
  options: { frameRanges: string[] };
}

/** The video is whole; its sidecar, if any, describes it. Returns the sidecar (or null). */
async function expectTruthful(out: string): Promise<Provenance | null> {
  const info = await probeVideo(out);
  const frames = info.frameCount;
  const prov = await readFile(`${out}.provenance.json`, 'utf8').then(
    (t) => JSON.parse(t) as Provenance,
    () => null,
  );
  if (prov) {
    expect(prov.output.sha256).toBe(await sha256File(out));
    expect(prov.output.frames).toBe(frames);
  }
  return prov;
}

const hidden = async () => (await readdir(dir)).filter((n) => n.startsWith('.'));

beforeAll(async () => {
  if (!hasTestdata) return;
  dir = await scratchDir('faults-convert');
  process.env.FSS_CONFIG_DIR = join(dir, 'config');
  script = join(dir, 'convert.mts');
  await writeFile(script, child);
  clip = join(dir, 'clip.mp4');
  await cutClip(videos.personA, clip, 12);
  await runExtract(parseOptions(extractOptions, { input: clip, output: join(dir, 'faces') }), quietContext());
}, 300_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(() => setFault(''));

describe.skipIf(!hasTestdata)('convert commit under faults', () => {
  it(
    'kill -9 between finishing, signing, provenance and the renames: the sidecar never lies',
    { timeout: 600_000 },
    async () => {
      const out = join(dir, 'out.mp4');
      const steps = [
        'convert:signed',
        'convert:provenance-written',
        'convert:old-aside',
        'convert:output',
        'convert:provenance',
      ];
      // Each run writes a different number of frames, so old and new outputs differ in hash and frame count.
      let frames = 6;
      expect(run(opts(out, { frameRanges: [`0-${frames - 1}`] })).stdout).toContain('converted');
      for (const step of steps) {
        const before = await expectTruthful(out);
        expect(before?.output.frames).toBe(frames);
        frames++;
        const r = run(opts(out, { frameRanges: [`0-${frames - 1}`] }), `kill:${step}`);
        expect(r.signal, `${step}: ${r.stderr}`).toBe('SIGKILL');
        const after = await expectTruthful(out);
        // Until the video is renamed in, the old one stays; from then on the new one.
        const committed = step === 'convert:output' || step === 'convert:provenance';
        expect((await probeVideo(out)).frameCount, step).toBe(committed ? frames : frames - 1);
        if (step === 'convert:provenance') expect(after?.output.frames).toBe(frames);
        // The next run's sweep puts the matching sidecar back and removes every temporary file.
        const sw = run({ output: out }, '', true);
        expect(sw.code, sw.stderr).toBe(0);
        expect(await expectTruthful(out), `${step}: ${sw.stdout}`).not.toBeNull();
        expect(await hidden(), step).toEqual([]);
        if (!committed) frames--;
      }
    },
  );

  it(
    'a full disk at every write of a conversion: one-line error, the previous pair untouched, nothing left',
    { timeout: 300_000 },
    async () => {
      const out = join(dir, 'full.mp4');
      const swapper = syntheticSwapper({ kind: 'shift', amount: 0.2 });
      const convert = (n: number) =>
        runConvert(parseOptions(convertOptions, opts(out, { frameRanges: [`0-${n}`] })), quietContext(), { swapper });
      await convert(5);
      const previous = await readFile(`${out}.provenance.json`, 'utf8');
      let n = 1;
      for (; ; n++) {
        setFault(`enospc:${n}`);
        const err = await convert(8).then(
          () => null,
          (e: unknown) => e,
        );
        setFault('');
        if (!err) break;
        expect(isUserError(err), String(err)).toBe(true);
        expect((err as Error).message).toMatch(/^\/\S+: disk full \(ENOSPC\)[^\n]*$/);
        expect(await readFile(`${out}.provenance.json`, 'utf8')).toBe(previous);
        await expectTruthful(out);
        expect(await hidden()).toEqual([]);
      }
      // The signed video and its provenance: both writes failed once.
      expect(n).toBeGreaterThanOrEqual(3);
      expect((await expectTruthful(out))?.output.frames).toBe(9);
    },
  );
});
