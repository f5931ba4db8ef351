/**
 * SIGKILL during a save leaves a model that loads: the new save or the previous one, never a mix. A child
 * process saves a model in a loop (each save marks the weights with its number); we kill it at random moments.
 */
import { spawn } from 'node:child_process';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, scratchDir } from '../helpers/testdata';
import { readModelFiles } from '../../src-main/engine/train/model-io';

let dir: string;

const child = (modelDir: string) => `
import { loadTf } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src-main/engine/tf/backend.ts')).href)};
import { buildAutoencoder, trainerConfig } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src-main/engine/train/models/index.ts')).href)};
import { Adam } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src-main/engine/train/adam.ts')).href)};
import { saveModel, readModelFiles, hasModel } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'src-main/engine/train/model-io.ts')).href)};
const { tf } = await loadTf({ backend: 'wasm' });
const m = buildAutoencoder(tf, trainerConfig('lightweight'), 1);
const adam = new Adam(tf, m.params.vars, { learningRate: 1e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 }, 'device');
let i = (await hasModel(${JSON.stringify(modelDir)})) ? (await readModelFiles(${JSON.stringify(modelDir)})).state.iteration : 0;
for (;;) {
  i++;
  const b = m.params.get('encoder/conv1/bias');
  b.assign(tf.fill(b.shape, i));
  adam.step = i;
  const t0 = performance.now();
  process.stdout.write('begin ' + i + '\\n');
  await saveModel(${JSON.stringify(modelDir)}, m, adam, {
    trainer: 'lightweight', inputSize: 64, outputSize: 64, hasMask: false, coverage: 0.75, seed: 1, iteration: i,
    lossA: Array.from({ length: i }, () => 0.1), lossB: Array.from({ length: i }, () => 0.1),
    optimizer: { name: 'adam', learningRate: 1e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 }, options: {}, trainSeconds: 0,
  });
  process.stdout.write('saved ' + i + ' ' + Math.round(performance.now() - t0) + '\\n');
}
`;

beforeAll(async () => {
  dir = await scratchDir('train-kill');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('kill during save', () => {
  it(
    'SIGKILL at random moments of repeated saves always leaves a loadable, consistent model',
    { timeout: 180_000 },
    async () => {
      const modelDir = join(dir, 'model');
      const script = join(dir, 'saver.mts');
      await writeFile(script, child(modelDir));
      const outcomes: string[] = [];
      for (let round = 0; round < 3; round++) {
        const p = spawn(process.execPath, ['--import', 'tsx', script], {
          cwd: repoRoot,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let last = 0;
        let saveMs = 100;
        let delay = 0;
        let stderr = '';
        p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        await new Promise<void>((resolve, reject) => {
          let killed = false;
          p.stdout.on('data', (d: Buffer) => {
            const text = d.toString();
            const m = [...text.matchAll(/saved (\d+) (\d+)/g)].pop();
            if (m) {
              last = Number(m[1]);
              saveMs = Number(m[2]);
            }
            // After one full save (to know its duration), kill at a random point of the next one.
            if (!killed && last > 0 && new RegExp(`begin ${last + 1}`).test(text)) {
              killed = true;
              delay = Math.random() * saveMs;
              setTimeout(() => p.kill('SIGKILL'), delay);
            }
          });
          p.on('exit', () => resolve());
          p.on('error', reject);
          setTimeout(() => reject(new Error(`saver did not start: ${stderr.slice(-500)}`)), 120_000);
        });
        const loaded = await readModelFiles(modelDir);
        const it = loaded.state.iteration;
        // The save reported last, or the one in flight if it completed just before the kill.
        expect([last, last + 1]).toContain(it);
        const bias = loaded.state.tensors.find((t) => t.name === 'encoder/conv1/bias');
        expect(bias).toBeDefined();
        const v = loaded.weights[bias?.offset ?? 0];
        expect(v).toBe(it); // weights belong to the state that was read
        expect(loaded.state.optimizer.step).toBe(it);
        outcomes.push(
          `round ${round}: save takes ${saveMs} ms, killed ${Math.round(delay)} ms into save ${last + 1}: loaded ${it} (${loaded.from} state)`,
        );
      }
      console.log(outcomes.join('\n'));
      console.log('files:', (await readdir(modelDir)).join(' '));
    },
  );
});
