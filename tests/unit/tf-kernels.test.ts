/**
 * The training kernels tfjs lacks (wasm Conv2DBackpropFilter, DepthToSpace gradient) against the cpu backend.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { loadTf, type Tf } from '../../src-main/engine/tf/backend';
import type * as TfCore from '@tensorflow/tfjs-core';
import { setChunkFloats, usesMatMul } from '../../src-main/engine/tf/wasm-conv';

let tf: Tf;

beforeAll(async () => {
  tf = (await loadTf({ backend: 'wasm' })).tf;
});

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
    den = Math.max(den, Math.abs(b[i] ?? 0));
  }
  return num / Math.max(den, 1e-12);
}

async function onBackend<T>(name: string, f: () => T): Promise<T> {
  await tf.setBackend(name);
  return f();
}

function rand(shape: number[], seed: number): Float32Array {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

const cases: Array<{
  x: [number, number, number, number];
  k: [number, number, number, number];
  s: number;
  pad: 'same' | 'valid';
}> = [
  { x: [2, 16, 16, 3], k: [5, 5, 3, 8], s: 2, pad: 'same' },
  { x: [3, 9, 11, 4], k: [3, 3, 4, 6], s: 1, pad: 'same' },
  { x: [2, 13, 12, 5], k: [5, 5, 5, 7], s: 2, pad: 'same' },
  { x: [2, 10, 10, 4], k: [3, 3, 4, 5], s: 2, pad: 'valid' },
  { x: [1, 8, 8, 16], k: [1, 1, 16, 4], s: 1, pad: 'valid' },
  { x: [2, 8, 8, 6], k: [3, 3, 6, 5], s: 2, pad: 'same' },
  { x: [2, 9, 9, 4], k: [4, 4, 4, 3], s: 2, pad: 'same' },
  { x: [1, 12, 12, 3], k: [5, 5, 3, 4], s: 3, pad: 'same' },
  { x: [1, 8, 8, 4], k: [1, 1, 4, 4], s: 2, pad: 'valid' },
];

describe('wasm Conv2DBackpropFilter', () => {
  it('is registered', () => {
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });
  for (const c of cases) {
    it(`matches cpu for x ${c.x.join('x')} k ${c.k.join('x')} s${c.s} ${c.pad} within 1e-4`, async () => {
      const xv = rand(c.x, 1);
      const probe = tf.conv2d(
        tf.zeros(c.x) as ReturnType<typeof tf.tensor4d>,
        tf.zeros(c.k) as ReturnType<typeof tf.tensor4d>,
        c.s,
        c.pad,
      );
      const dyShape = probe.shape;
      probe.dispose();
      const dyv = rand(dyShape, 2);
      const run = () =>
        tf.tidy(() =>
          (
            tf
              .engine()
              .runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(xv, c.x), dy: tf.tensor4d(dyv, dyShape as never) }, {
                strides: c.s,
                pad: c.pad,
                dataFormat: 'NHWC',
                filterShape: c.k,
              } as never) as ReturnType<typeof tf.tensor>
          ).dataSync(),
        );
      const ref = await onBackend('cpu', run);
      const got = await onBackend('wasm', run);
      const err = relErr(got, ref);
      console.log(
        `Conv2DBackpropFilter ${c.x.join('x')} k${c.k.join('x')} s${c.s} ${c.pad}: rel err ${err.toExponential(2)}`,
      );
      expect(got.length).toBe(ref.length);
      expect(err).toBeLessThan(1e-4);
    });
  }
});

describe('wasm Conv2DBackpropInput (XNNPACK conv of the upsampled dy)', () => {
  for (const c of cases) {
    it(`matches cpu for x ${c.x.join('x')} k ${c.k.join('x')} s${c.s} ${c.pad} within 1e-4`, async () => {
      const wv = rand(c.k, 11);
      const probe = tf.conv2d(
        tf.zeros(c.x) as ReturnType<typeof tf.tensor4d>,
        tf.zeros(c.k) as ReturnType<typeof tf.tensor4d>,
        c.s,
        c.pad,
      );
      const dyShape = probe.shape;
      probe.dispose();
      const dyv = rand(dyShape, 12);
      const run = () =>
        tf.tidy(() =>
          (
            tf
              .engine()
              .runKernel(
                'Conv2DBackpropInput',
                { dy: tf.tensor4d(dyv, dyShape as never), filter: tf.tensor4d(wv, c.k) },
                { strides: c.s, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x } as never,
              ) as ReturnType<typeof tf.tensor>
          ).dataSync(),
        );
      const ref = await onBackend('cpu', run);
      const got = await onBackend('wasm', run);
      const err = relErr(got, ref);
      console.log(
        `Conv2DBackpropInput ${c.x.join('x')} k${c.k.join('x')} s${c.s} ${c.pad}: rel err ${err.toExponential(2)}`,
      );
      expect(got.length).toBe(ref.length);
      expect(err).toBeLessThan(1e-4);
    });
  }
});

/** Both backprop kernels of one conv on a backend, from fixed inputs: [filter gradient, input gradient]. */
function backprops(c: (typeof cases)[number]): Float32Array[] {
  return tf.tidy(() => {
    const probe = tf.conv2d(tf.zeros(c.x) as TfCore.Tensor4D, tf.zeros(c.k) as TfCore.Tensor4D, c.s, c.pad);
    const dyShape = probe.shape;
    const dy = tf.tensor4d(rand(dyShape, 32), dyShape as never);
    const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' };
    const kernel = (name: string, inputs: object, more: object) =>
      (
        tf.engine().runKernel(name, inputs as never, { ...attrs, ...more } as never) as ReturnType<typeof tf.tensor>
      ).dataSync() as Float32Array;
    return [
      kernel('Conv2DBackpropFilter', { x: tf.tensor4d(rand(c.x, 31), c.x), dy }, { filterShape: c.k }),
      kernel('Conv2DBackpropInput', { dy, filter: tf.tensor4d(rand(c.k, 33), c.k) }, { inputShape: c.x }),
    ];
  });
}

// The same convs with 512 output channels: the filter gradient takes wasm-conv.ts's matrix-product form, and so
// does the input gradient where the stride is > 1 or the picture small; the third also with its im2col cut into
// chunks of 1000 floats (125 x 84: 11 chunks).
const matMulCases: typeof cases = cases.map((c) => ({ ...c, k: [c.k[0], c.k[1], c.k[2], 512] }));
const chunkedCase = matMulCases[2];

describe('wasm Conv2D backprop kernels as matrix products (wasm-conv.ts)', () => {
  it('take the matrix-product form: the filter gradient always, the input gradient for every stride > 1', () => {
    for (const c of matMulCases) {
      expect(usesMatMul(tf, 'filter', c.x, c.k, c.s, c.pad)).toBe(true);
      if (c.s > 1) expect(usesMatMul(tf, 'input', c.x, c.k, c.s, c.pad)).toBe(true);
    }
  });
  it('take it for the filter gradient from 96 channels where the im2col is small (<= 1 M floats)', () => {
    // lightweight's layers at batch 8 (a gradient worker's share at batch 16): 4x4 to 16x16, 96-384 channels.
    expect(usesMatMul(tf, 'filter', [8, 4, 4, 192], [3, 3, 192, 384], 1, 'same')).toBe(true);
    expect(usesMatMul(tf, 'filter', [8, 8, 8, 96], [3, 3, 96, 192], 1, 'same')).toBe(true);
    expect(usesMatMul(tf, 'filter', [8, 16, 16, 48], [3, 3, 48, 96], 1, 'same')).toBe(true);
    // The same at batch 16 only where the im2col stays small.
    expect(usesMatMul(tf, 'filter', [16, 8, 8, 96], [5, 5, 96, 192], 2, 'same')).toBe(true);
    expect(usesMatMul(tf, 'filter', [16, 16, 16, 48], [3, 3, 48, 96], 1, 'same')).toBe(false);
    // Narrower layers and bigger pictures keep the convolution form (there the JS im2col costs what it saves).
    expect(usesMatMul(tf, 'filter', [8, 32, 32, 24], [3, 3, 24, 48], 1, 'same')).toBe(false);
    expect(usesMatMul(tf, 'filter', [8, 32, 32, 128], [5, 5, 128, 256], 2, 'same')).toBe(false);
  });
  for (const c of matMulCases) {
    it(`match cpu for x ${c.x.join('x')} k ${c.k.join('x')} s${c.s} ${c.pad} within 1e-5`, async () => {
      const ref = await onBackend('cpu', () => backprops(c));
      const before = c === chunkedCase ? setChunkFloats(1000) : undefined;
      let got: Float32Array[];
      try {
        got = await onBackend('wasm', () => backprops(c));
      } finally {
        if (before !== undefined) setChunkFloats(before);
      }
      for (const [i, name] of ['filter', 'input'].entries()) {
        const err = relErr(got[i] as Float32Array, ref[i] as Float32Array);
        console.log(
          `matmul ${name} gradient ${c.x.join('x')} k${c.k.join('x')} s${c.s}: rel err ${err.toExponential(2)}`,
        );
        expect(got[i]?.length).toBe(ref[i]?.length);
        expect(err).toBeLessThan(1e-5);
      }
    });
  }
});

describe('wasm BatchMatMul with transposed A (JS heap transpose)', () => {
  it('matches cpu for a^T b, a^T b^T and plain a b (1e-4 relative)', async () => {
    const av = rand([2, 7, 5], 21);
    const bv = rand([2, 7, 3], 22);
    const cv = rand([2, 3, 7], 23);
    const run = () =>
      tf.tidy(() => {
        const a = tf.tensor3d(av, [2, 7, 5]);
        return [
          tf.matMul(a, tf.tensor3d(bv, [2, 7, 3]), true, false).dataSync(),
          tf.matMul(a, tf.tensor3d(cv, [2, 3, 7]), true, true).dataSync(),
          tf.matMul(tf.tensor3d(cv, [2, 3, 7]), a, false, false).dataSync(),
        ];
      });
    const ref = await onBackend('cpu', run);
    const got = await onBackend('wasm', run);
    for (let i = 0; i < 3; i++) expect(relErr(got[i] as Float32Array, ref[i] as Float32Array)).toBeLessThan(1e-4);
  });
});

describe('wasm BatchMatMul with transposed B and DepthToSpace (wasm-conv.ts)', () => {
  it('a b^T matches cpu (1e-5 relative) with a the smaller operand and with b the smaller one', async () => {
    const shapes: Array<[[number, number, number], [number, number, number]]> = [
      [
        [1, 3, 40],
        [1, 17, 40],
      ],
      [
        [1, 19, 8],
        [1, 5, 8],
      ],
      [
        [1, 16, 64],
        [1, 64, 64],
      ],
    ];
    for (const [as, bs] of shapes) {
      const run = () =>
        tf.tidy(() => tf.matMul(tf.tensor3d(rand(as, 41), as), tf.tensor3d(rand(bs, 42), bs), false, true).dataSync());
      const ref = await onBackend('cpu', run);
      const got = await onBackend('wasm', run);
      expect(got.length).toBe(as[1] * bs[1]);
      expect(relErr(got, ref)).toBeLessThan(1e-5);
    }
  });

  it('DepthToSpace equals cpu exactly (blocks 2 and 3)', async () => {
    for (const [shape, block] of [
      [[2, 3, 4, 12], 2],
      [[1, 2, 5, 18], 3],
    ] as Array<[[number, number, number, number], number]>) {
      const run = () => tf.tidy(() => tf.depthToSpace(tf.tensor4d(rand(shape, 43), shape), block).dataSync());
      const ref = await onBackend('cpu', run);
      const got = await onBackend('wasm', run);
      expect(got.length).toBe(ref.length);
      expect(relErr(got, ref)).toBe(0);
    }
  });
});

describe('DepthToSpace gradient', () => {
  it('is the exact inverse permutation (cpu and wasm)', async () => {
    for (const be of ['cpu', 'wasm']) {
      await tf.setBackend(be);
      const x = tf.tensor4d(rand([2, 3, 4, 12], 3), [2, 3, 4, 12]);
      const g = tf.grad((t) =>
        tf.sum(tf.mul(tf.depthToSpace(t as ReturnType<typeof tf.tensor4d>, 2), tf.depthToSpace(x, 2))),
      );
      const dx = g(tf.clone(x));
      // d/dx sum(d2s(x) * d2s(x0)) at x = x0 is x0 itself.
      expect(relErr(dx.dataSync(), x.dataSync())).toBe(0);
      tf.dispose([x, dx]);
    }
  });

  it('a conv(stride 2) + PixelShuffle + dense net has the same gradients on wasm and cpu (1e-4 relative)', async () => {
    const xv = rand([4, 16, 16, 3], 5);
    const w1v = rand([5, 5, 3, 16], 6);
    const w2v = rand([3, 3, 16, 32], 7);
    const w3v = rand([16 * 16 * 8, 4], 8);
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(xv, [4, 16, 16, 3]);
        const w1 = tf.variable(tf.tensor4d(w1v, [5, 5, 3, 16]));
        const w2 = tf.variable(tf.tensor4d(w2v, [3, 3, 16, 32]));
        const w3 = tf.variable(tf.tensor2d(w3v, [16 * 16 * 8, 4]));
        const f = () => {
          const h1 = tf.leakyRelu(tf.conv2d(x, w1, 2, 'same'), 0.1); // 8x8x16
          const h2 = tf.leakyRelu(tf.conv2d(h1, w2, 1, 'same'), 0.1); // 8x8x32
          const h3 = tf.depthToSpace(h2, 2); // 16x16x8
          const flat = tf.reshape(h3, [4, 16 * 16 * 8]);
          return tf.mean(tf.abs(tf.sigmoid(tf.matMul(flat, w3)))) as ReturnType<typeof tf.scalar>;
        };
        const { grads } = tf.variableGrads(f, [w1, w2, w3]);
        const out = [w1, w2, w3].map((v) => (grads[v.name] as ReturnType<typeof tf.tensor>).dataSync());
        tf.dispose([w1, w2, w3]);
        return out;
      });
    const ref = await onBackend('cpu', run);
    const got = await onBackend('wasm', run);
    for (let i = 0; i < ref.length; i++) {
      const err = relErr(got[i] as Float32Array, ref[i] as Float32Array);
      console.log(`net grad ${i}: rel err ${err.toExponential(2)}`);
      expect(err).toBeLessThan(1e-4);
    }
  });
});
