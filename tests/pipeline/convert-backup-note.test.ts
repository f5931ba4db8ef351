// Issue 10 item 14: a truncated weights file makes convert use the backup save; it must say so in one line.
import { spawnSync } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTf } from '../../src-main/engine/tf/backend';
import { Adam } from '../../src-main/engine/train/adam';
import { readModelFiles, saveModel } from '../../src-main/engine/train/model-io';
import { buildAutoencoder, trainers } from '../../src-main/engine/train/models/index';
import { hasTestdata, repoRoot, scratchDir, videos } from '../helpers/testdata';

describe.skipIf(!hasTestdata)('convert on a model whose last save is damaged', () => {
  let dir: string;
  const model = () => join(dir, 'model');

  beforeAll(async () => {
    dir = await scratchDir('convert-damaged');
    // Two saves of an (untrained) lightweight model: iteration 1 becomes the backup of iteration 2.
    const { tf } = await loadTf({ backend: 'cpu' });
    const cfg = trainers.lightweight;
    const m = buildAutoencoder(tf, cfg, 1);
    const optimizer = { learningRate: 5e-5, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };
    const adam = new Adam(tf, m.params.vars, optimizer, 'device');
    const fields = (iteration: number) => ({
      trainer: cfg.name,
      inputSize: cfg.size,
      outputSize: cfg.size,
      hasMask: cfg.mask,
      coverage: 0.75,
      seed: 1,
      iteration,
      lossA: [0.5],
      lossB: [0.5],
      optimizer: { name: 'adam' as const, ...optimizer },
      options: {},
      trainSeconds: 0,
    });
    await saveModel(model(), m, adam, fields(1));
    await saveModel(model(), m, adam, fields(2));
    adam.dispose();
    m.dispose();
    // The last save's weights cut short, as a full disk or a kill during a copy would leave them.
    const { weightsFile } = await readModelFiles(model());
    const bytes = await readFile(weightsFile);
    await writeFile(weightsFile, bytes.subarray(0, Math.floor(bytes.length / 3)));
    await copyFile(videos.personA, join(dir, 'clip.mp4'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the backup save and says so in one line on stderr', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(repoRoot, 'bin', 'faceswap-studio.js'),
        'convert',
        '-i',
        join(dir, 'clip.mp4'),
        '-o',
        join(dir, 'out'),
        '-m',
        model(),
      ].concat(['--frame-ranges', '0-1', '--discard-frames', '--no-quality-report', '--backend', 'wasm']),
      { encoding: 'utf8', timeout: 600_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const notes = r.stderr.split('\n').filter((l) => /backup save/.test(l));
    expect(notes, r.stderr).toHaveLength(1);
    expect(notes[0]).toMatch(
      /^warn: .*model: the last save does not load \(damaged or cut short\); using the backup save of iteration 1$/,
    );
  });
});
