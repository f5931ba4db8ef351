/**
 * `train` through the real CLI under faults (docs/reliability.md): two trainers on one model folder (the second
 * stops with one line naming the folder and the first one's pid), SIGTERM and SIGHUP stop like Ctrl+C (the
 * step finishes, the model is saved), a stale lock of a dead process is taken over, and a full disk during a
 * save is one line while the previous save still loads. Real photos, the lightweight trainer, batch 2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelFiles } from '../../src-main/engine/train/model-io';
import { hasTestdata, repoRoot, scratchDir, td } from '../helpers/testdata';

let dir = '';
const bin = join(repoRoot, 'bin', 'faceswap-studio.js');
const args = (model: string, iterations: number, extra: string[] = []) => [
  bin,
  'train',
  '-A',
  td('identity', 'obama'),
  '-B',
  td('identity', 'kit_harington'),
  '-m',
  model,
  '-t',
  'lightweight',
  '-b',
  '2',
  '-i',
  String(iterations),
  '-s',
  '1',
  '--backend',
  'wasm',
  '--preview-every',
  '0',
  ...extra,
];
const train = (model: string, iterations: number, fault = '') =>
  spawnSync(process.execPath, args(model, iterations), {
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, FSS_FAULT: fault },
  });

/** Lines of stderr that are errors or warnings (not the progress line). */
const messages = (stderr: string) => stderr.split(/[\r\n]+/).filter((l) => /^(error|warn)/.test(l));

/** Starts a long training and resolves once it has saved at least once (the lock is held by then). */
function startLong(model: string) {
  const p = spawn(process.execPath, [...args(model, 100_000), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  const saved = new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (/"done":2\b/.test(stdout)) resolve();
    });
    void exited.then(() => reject(new Error(`training ended early: ${stderr.slice(-800)}`)));
  });
  return { p, saved, exited, out: () => stdout, err: () => stderr };
}

beforeAll(async () => {
  if (hasTestdata) dir = await scratchDir('faults-train');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTestdata)('train under faults (CLI)', () => {
  for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
    it(
      `a second trainer on the folder is refused; ${signal} then stops the first like Ctrl+C (saved)`,
      { timeout: 300_000 },
      async () => {
        const model = join(dir, `two-${signal}`);
        const first = startLong(model);
        await first.saved;
        const second = train(model, 5);
        expect(second.status, second.stderr).toBe(2);
        expect(messages(second.stderr)).toEqual([
          expect.stringMatching(new RegExp(`^error: ${model}: in use by another process \\(pid ${first.p.pid},`)),
        ]);
        first.p.kill(signal);
        expect(await first.exited, first.err()).toBe(0);
        expect(first.err()).toContain(`${signal}: stopping after the current step`);
        const last = [...first.out().matchAll(/"done":(\d+)/g)].pop();
        const loaded = await readModelFiles(model);
        // Saved at the step it stopped on (the step in flight finished), not only at the last regular save.
        expect(loaded.state.iteration).toBeGreaterThanOrEqual(Number(last?.[1]));
        expect(loaded.state.lossA).toHaveLength(loaded.state.iteration);
        expect((await readdir(model)).filter((n) => n.startsWith('.'))).toEqual([]); // lock released
      },
    );
  }

  it('a stale lock of a dead process is taken over, said in one line', { timeout: 180_000 }, async () => {
    const model = join(dir, 'stale');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(dead.stdout);
    const { mkdir } = await import('node:fs/promises');
    const { hostname } = await import('node:os');
    await mkdir(model);
    await writeFile(
      join(model, '.lock'),
      JSON.stringify({ pid, host: hostname(), processStart: Date.now() - 1e6, since: new Date().toISOString() }),
    );
    const r = train(model, 2);
    expect(r.status, r.stderr).toBe(0);
    expect(messages(r.stderr)).toEqual([
      `warn: ${model}: took over the lock of pid ${pid}, which is no longer running`,
    ]);
    expect((await readModelFiles(model)).state.iteration).toBe(2);
  });

  it(
    'a full disk during a save: one line, exit 2, the previous save loads, no leftovers',
    { timeout: 180_000 },
    async () => {
      const model = join(dir, 'stale'); // saved at iteration 2 by the test above
      expect((await readModelFiles(model)).state.iteration).toBe(2);
      // The worker's checked writes: the next save's weights, optimizer state, manifest. The optimizer's fails, after
      // the new weights were written (every write of a save is faulted one by one in faults-model.test.ts).
      const r = train(model, 4, 'enospc:2');
      expect(r.status, r.stderr).toBe(2);
      expect(messages(r.stderr)).toEqual([
        `error: ${model}: the model was not saved (optimizer.00000003.bin: disk full (ENOSPC); the file was not written); the last save is kept`,
      ]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect((await readModelFiles(model)).state.iteration).toBe(2);
      // The two committed saves only (iterations 1 and 2): nothing of the failed one, no temporary file.
      expect((await readdir(model)).sort()).toEqual([
        'optimizer.00000001.bin',
        'optimizer.00000002.bin',
        'state.json',
        'state.json.bak',
        'weights.00000001.bin',
        'weights.00000002.bin',
      ]);
    },
  );
});
