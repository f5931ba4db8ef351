/** Backend loading: one tfjs-core instance for us and human, auto choice, explicit choices, doctor facts. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as tfCore from '@tensorflow/tfjs-core';
import { loadTf, tfFacts } from '../../src-main/engine/tf/backend';
import { isUserError } from '../../src-shared/errors';

describe('loadTf', () => {
  it('uses the same tfjs-core instance that CommonJS consumers (human node-wasm) require', async () => {
    const { tf } = await loadTf({ backend: 'cpu' });
    const req = createRequire(import.meta.url);
    const cjs = req('@tensorflow/tfjs-core') as typeof tfCore;
    expect(tf.engine()).toBe(cjs.engine());
    expect(tfCore.engine()).toBe(cjs.engine());
    // A tensor made by one is usable by the other.
    const t = cjs.tensor([1, 2, 3]);
    expect(Array.from(tf.add(t, 1).dataSync())).toEqual([2, 3, 4]);
  });

  it('loads wasm and cpu on request and registers the training gradients', async () => {
    for (const b of ['wasm', 'cpu'] as const) {
      const r = await loadTf({ backend: b });
      expect(r.backend).toBe(b);
      expect(r.tf.getBackend()).toBe(b);
      expect(r.available).toContain('wasm');
      expect(r.tf.getGradient('Conv2D')).toBeDefined();
      expect(r.tf.getGradient('DepthToSpace')).toBeDefined();
    }
  });

  it('auto picks an available backend, never cpu while wasm works', async () => {
    const r = await loadTf({ backend: 'auto' });
    expect(r.available).toContain(r.backend);
    expect(r.backend).not.toBe('cpu');
  });

  it('an unavailable backend is a one-line UserError', async () => {
    const facts = await tfFacts();
    const missing = facts.backends.find((b) => !b.available);
    if (!missing) return; // every backend works on this machine
    const e = await loadTf({ backend: missing.name as 'tensorflow' }).catch((x: unknown) => x);
    expect(isUserError(e)).toBe(true);
    expect(String((e as Error).message)).toMatch(new RegExp(`'${missing.name}' is not available`));
  });

  it('tfFacts lists every backend, the chosen one and the GPU if any', async () => {
    const f = await tfFacts();
    expect(f.backends.map((b) => b.name).sort()).toEqual(['cpu', 'tensorflow', 'wasm', 'webgpu']);
    expect(f.chosen).toBeDefined();
    console.log(JSON.stringify(f));
  });
});
