/**
 * Issue 16 item 4: convert loads a model for inference only. `loadSwapper` reads (and hashes) the weights once
 * and never the optimizer file: it counts the reads of each file of the save (node:fs/promises' readFile, wrapped).
 */
import type * as FsPromises from 'node:fs/promises';
import { basename, join } from 'node:path';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const reads: string[] = [];
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>();
  const readFile = ((...args: Parameters<typeof fs.readFile>) => {
    reads.push(basename(String(args[0])));
    return fs.readFile(...args);
  }) as typeof fs.readFile;
  return { ...fs, readFile, default: { ...fs, readFile } };
});

const { loadTf } = await import('../../src-main/engine/tf/backend');
const { Adam } = await import('../../src-main/engine/train/adam');
const { saveModel } = await import('../../src-main/engine/train/model-io');
const { buildAutoencoder, trainers } = await import('../../src-main/engine/train/models/index');
const { loadSwapper } = await import('../../src-main/engine/convert/model-swapper');
const { scratchDir } = await import('../helpers/testdata');

let dir = '';
let files: { weights: string; optimizer: string } = { weights: '', optimizer: '' };

beforeAll(async () => {
  dir = await scratchDir('convert-model-load');
  const { tf } = await loadTf({ backend: 'cpu' });
  const cfg = trainers.lightweight;
  const m = buildAutoencoder(tf, cfg, 1);
  const optimizer = { learningRate: 5e-5, beta1: 0.5, beta2: 0.999, epsilon: 1e-7 };
  const adam = new Adam(tf, m.params.vars, optimizer, 'device');
  const state = await saveModel(join(dir, 'model'), m, adam, {
    trainer: cfg.name,
    inputSize: cfg.size,
    outputSize: cfg.size,
    hasMask: cfg.mask,
    coverage: 0.75,
    seed: 1,
    iteration: 1,
    lossA: [0.5],
    lossB: [0.5],
    optimizer: { name: 'adam' as const, ...optimizer },
    options: {},
    trainSeconds: 0,
  });
  adam.dispose();
  m.dispose();
  files = { weights: state.files.weights ?? '', optimizer: state.files.optimizer ?? '' };
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('loadSwapper (inference-only load)', () => {
  it('reads the weights once and never the optimizer file', { timeout: 60_000 }, async () => {
    expect(files.weights).not.toBe('');
    expect(files.optimizer).not.toBe('');
    reads.length = 0;
    const swapper = await loadSwapper(join(dir, 'model'), { direction: 'a-to-b', backend: 'cpu' });
    try {
      expect(swapper.from).toBe('current');
      expect(reads.filter((n) => n === files.weights)).toHaveLength(1);
      expect(reads.filter((n) => n === files.optimizer)).toHaveLength(0);
    } finally {
      swapper.dispose();
    }
  });
});
