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

const { saveTinyModel } = await import('../helpers/model');
const { loadSwapper } = await import('../../src-main/engine/convert/model-swapper');
const { scratchDir } = await import('../helpers/testdata');

let dir = '';
let files: { weights: string; optimizer: string } = { weights: '', optimizer: '' };

beforeAll(async () => {
  dir = await scratchDir('convert-model-load');
  const state = await saveTinyModel(join(dir, 'model'));
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
