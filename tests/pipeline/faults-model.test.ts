/**
 * Fault injection on model saves (docs/reliability.md). A child process does what `train` does around a save
 * (lock the folder, sweep leftovers, load the last save, save the next iteration) with FSS_FAULT set:
 * kill -9 at each step of the save, twice in a row; a full disk (ENOSPC half-way) at each write of the save.
 * After every fault the folder loads the last committed save (its weights carry the iteration number), no
 * file under a final name is truncated, and the next clean run leaves no leftovers.
 */
import { spawnSync } from 'node:child_process';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, scratchDir } from '../helpers/testdata';
import { readModelFiles } from '../../src-main/engine/train/model-io';

let dir: string;
let script: string;
const src = (p: string) => JSON.stringify(pathToFileURL(join(repoRoot, p)).href);
const pkg = (name: string) =>
  JSON.stringify(pathToFileURL(createRequire(join(repoRoot, 'package.json')).resolve(name)).href);

// argv: model folder. Prints the iteration it committed.
const child = `
// tfjs-core and its CPU backend only: the smallest start-up (the save path is the same on every backend).
import * as tf from ${pkg('@tensorflow/tfjs-core')};
import ${pkg('@tensorflow/tfjs-backend-cpu')};
import { buildAutoencoder } from ${src('src-main/engine/train/models/index.ts')};
import { Adam } from ${src('src-main/engine/train/adam.ts')};
import { hasModel, readModelFiles, saveModel, sweepModelFolder } from ${src('src-main/engine/train/model-io.ts')};
import { acquireLock, lockFileFor } from ${src('src-main/engine/util/lock.ts')};
import { mkdir } from 'node:fs/promises';
const dir = process.argv[2];
await mkdir(dir, { recursive: true });
const lock = await acquireLock(lockFileFor(dir, true), dir);
await sweepModelFolder(dir);
await tf.setBackend('cpu');
const cfg = { name: 'tiny', summary: 'test', size: 16, encoder: [4, 8], dense: 16, latent: 4, latentChannels: 8, encoderUpscale: 8, decoder: [4], mask: true, suggestedBatch: 2 };
const m = buildAutoencoder(tf, cfg, 1);
const adam = new Adam(tf, m.params.vars, { learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 }, 'device');
const i = ((await hasModel(dir)) ? (await readModelFiles(dir)).state.iteration : 0) + 1;
const b = m.params.get('encoder/conv1/bias');
b.assign(tf.fill(b.shape, i));
adam.step = i;
try {
  await saveModel(dir, m, adam, {
    trainer: 'tiny', inputSize: 16, outputSize: 16, hasMask: true, coverage: 0.75, seed: 1, iteration: i,
    lossA: Array.from({ length: i }, () => 0.1), lossB: Array.from({ length: i }, () => 0.1),
    optimizer: { name: 'adam', learningRate: 1e-3, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 }, options: {}, trainSeconds: 0,
  });
} catch (e) {
  process.stderr.write('error: ' + e.message + '\\n');
  await lock.release();
  process.exit(2);
}
await lock.release();
process.stdout.write('saved ' + i + '\\n');
`;

function save(modelDir: string, fault = '') {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, modelDir], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, FSS_FAULT: fault },
    timeout: 60_000,
  });
  // tfjs greets Node users on stderr from a script (the CLI keeps it quiet): not ours to count.
  const stderr = r.stderr.replace(/=+\nHi, looks like you are running TensorFlow.js[^]*?=+\n/, '').trim();
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr };
}

/** The folder loads the save of `iteration`, consistently (weights, Adam step, loss history). */
async function expectLoads(modelDir: string, iteration: number) {
  const loaded = await readModelFiles(modelDir);
  expect(loaded.state.iteration).toBe(iteration);
  const bias = loaded.state.tensors.find((t) => t.name === 'encoder/conv1/bias');
  expect(loaded.weights[bias?.offset ?? -1]).toBe(iteration);
  expect(loaded.state.optimizer.step).toBe(iteration);
  expect(loaded.optimizer).not.toBeNull();
}

/** Every file under a final name is whole: binaries match their manifest's size; no temp or lock is left. */
async function expectClean(modelDir: string) {
  const names = (await readdir(modelDir)).sort();
  expect(
    names.filter((n) => n.startsWith('.')),
    names.join(' '),
  ).toEqual([]);
  const s = await readModelFiles(modelDir);
  expect((await stat(s.weightsFile)).size).toBe(s.state.files.weightsBytes);
  // Current and previous save only: two manifests, two generations of binaries.
  expect(names.filter((n) => /\.bin$/.test(n))).toHaveLength(4);
}

beforeAll(async () => {
  dir = await scratchDir('faults-model');
  script = join(dir, 'saver.mts');
  await writeFile(script, child);
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// Every step of a save, in order: temp of the weights complete, weights renamed, temp of the optimizer
// complete, optimizer renamed, temp of the manifest complete, previous manifest linked as the backup,
// manifest committed.
const KILL_STEPS = [
  'atomic:written:1',
  'model:weights',
  'atomic:written:2',
  'model:binaries',
  'atomic:written:3',
  'atomic:backup',
  'model:committed',
];

describe('model saves under faults', () => {
  it(
    'kill -9 at each step of a save, twice in a row, leaves the last committed save',
    { timeout: 300_000 },
    async () => {
      const modelDir = join(dir, 'kill');
      for (const i of [1, 2]) expect(save(modelDir).stdout).toContain(`saved ${i}`);
      let last = 2;
      for (const step of KILL_STEPS) {
        for (let again = 0; again < 2; again++) {
          const r = save(modelDir, `kill:${step}`);
          expect(r.signal, `${step}: ${r.stderr}`).toBe('SIGKILL');
          if (step === 'model:committed') last++; // killed after its commit: that save counts
          await expectLoads(modelDir, last);
        }
        // The next run sweeps what the kills left and saves on top of the last committed save.
        expect(save(modelDir).stdout).toContain(`saved ${++last}`);
        await expectLoads(modelDir, last);
        await expectClean(modelDir);
      }
    },
  );

  it(
    'a full disk at each write of a save: one-line error, the last save loads, nothing left',
    { timeout: 120_000 },
    async () => {
      const modelDir = join(dir, 'enospc');
      for (const i of [1, 2]) expect(save(modelDir).stdout).toContain(`saved ${i}`);
      let last = 2;
      for (const n of [1, 2, 3]) {
        const r = save(modelDir, `enospc:${n}`);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
        expect(r.stderr).toContain(modelDir);
        expect(r.stderr).toMatch(/disk full \(ENOSPC\).*the last save is kept/);
        await expectLoads(modelDir, last);
        // The failed write removed its own temp file at once.
        expect((await readdir(modelDir)).filter((f) => f.startsWith('.'))).toEqual([]);
        expect(save(modelDir).stdout).toContain(`saved ${++last}`);
        await expectClean(modelDir);
      }
    },
  );

  // A real full disk: a 2 MiB tmpfs in a private mount namespace (unshare -rm: no root needed where user
  // namespaces are allowed), filled until the next save's weights fit and its optimizer state does not.
  const canMount =
    spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k tmpfs /mnt'], { encoding: 'utf8' }).status ===
    0;
  it.skipIf(!canMount)(
    'a real full disk (tmpfs) during a save: one line, the previous save loads, its binaries go',
    { timeout: 180_000 },
    async () => {
      const out = join(dir, 'tmpfs-out');
      const { mkdir } = await import('node:fs/promises');
      await mkdir(join(out, 'mnt'), { recursive: true });
      const steps = `
      set -e
      mount -t tmpfs -o size=2m tmpfs "$1"; M="$1/model"; O="$2"; S="$3"
      save() { node --import tsx "$S" "$M"; }
      save > /dev/null 2>&1; save > /dev/null 2>&1
      avail=$(df --output=avail -B1 "$1" | tail -1)
      head -c $((avail - 90000)) /dev/zero > "$1/filler" || true
      set +e; save > "$O/full.out" 2> "$O/full.err"; echo $? > "$O/full.rc"; set -e
      cp -a "$M" "$O/after-full"
      rm "$1/filler"
      save > "$O/free.out" 2>&1
      cp -a "$M" "$O/after-free"`;
      const r = spawnSync('unshare', ['-rm', 'sh', '-c', steps, 'sh', join(out, 'mnt'), out, script], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 170_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const { readFile } = await import('node:fs/promises');
      expect((await readFile(join(out, 'full.rc'), 'utf8')).trim()).toBe('2');
      const err = (await readFile(join(out, 'full.err'), 'utf8')).split('\n').filter((l) => l.startsWith('error'));
      expect(err).toEqual([
        expect.stringMatching(
          /^error: \S+\/model: the model was not saved \(optimizer\.00000003\.bin: disk full \(ENOSPC\); the file was not written\); the last save is kept$/,
        ),
      ]);
      // Nothing of the failed save is left: the two committed saves, whole.
      await expectLoads(join(out, 'after-full'), 2);
      expect((await readdir(join(out, 'after-full'))).sort()).toEqual([
        'optimizer.00000001.bin',
        'optimizer.00000002.bin',
        'state.json',
        'state.json.bak',
        'weights.00000001.bin',
        'weights.00000002.bin',
      ]);
      expect(await readFile(join(out, 'free.out'), 'utf8')).toContain('saved 3');
      await expectLoads(join(out, 'after-free'), 3);
      await expectClean(join(out, 'after-free'));
    },
  );

  it(
    'an old-format folder (weights.bin, optimizer.bin, *.bak) loads and moves to the new format',
    { timeout: 60_000 },
    async () => {
      // Written the way earlier versions did: fixed names, the hashes in state.json.
      const modelDir = join(dir, 'old-format');
      expect(save(modelDir).stdout).toContain('saved 1');
      const { rename, readFile } = await import('node:fs/promises');
      const s = JSON.parse(await readFile(join(modelDir, 'state.json'), 'utf8')) as { files: Record<string, unknown> };
      await rename(join(modelDir, s.files.weights as string), join(modelDir, 'weights.bin'));
      await rename(join(modelDir, s.files.optimizer as string), join(modelDir, 'optimizer.bin'));
      delete s.files.weights;
      delete s.files.optimizer;
      await writeFile(join(modelDir, 'state.json'), JSON.stringify(s));
      await expectLoads(modelDir, 1);
      for (const i of [2, 3]) expect(save(modelDir).stdout).toContain(`saved ${i}`);
      await expectLoads(modelDir, 3);
      await expectClean(modelDir); // the old binaries went once no manifest named them
    },
  );
});
