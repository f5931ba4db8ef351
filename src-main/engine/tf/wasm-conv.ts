/**
 * The two Conv2D backprop kernels on tfjs-wasm as matrix products (XNNPACK's fastest kernel here), where that is
 * faster than the convolution forms in kernels.ts:
 * - filter gradient: dW[k, co] = sum_p colsT[k, p] dy[p, co], with colsT the im2col of x laid out transposed
 *   (k = (kh, kw, ci), p = (n, oh, ow)), built in JS on the wasm heap: one BatchMatMul without transposes;
 * - input gradient: colsT[k, p] = sum_co W[k, co] dyT[co, p] (the filter as it is stored, dy transposed in JS,
 *   which is small), then col2im: dx[n, oh*s + kh - pt, ow*s + kw - pl, ci] += colsT[k, p].
 * Both cut p into chunks so that colsT stays under 64 MB, and add the chunks in order (the result depends
 * only on the shapes, so one thread and N gradient workers still compute the same bits for the same share).
 * Measured (CPU ms per call, 2026-12-02, wasm SIMD, Original's layers at batch 8): filter gradient 417 -> ~270
 * (4x4x1024 -> 2048, 3x3), input gradient 600 -> ~270 (same layer), 524 -> ~200 (5x5 stride 2, 8x8x512 ->
 * 1024); see docs/performance.md. Elsewhere (useMatMul) the convolution forms are kept. Checked against the cpu backend in tests/unit/tf-kernels.test.ts.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { convGeometry, type ConvAttrs } from './kernels';

type Tf = typeof TfCore;
type KFunc = (args: {
  inputs: Record<string, TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}) => TensorInfo;

interface WasmBackendLike {
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/** The largest im2col block (floats) built at once: 16 M floats = 64 MB of the 32-bit wasm heap. */
let chunkFloats = 16 * 2 ** 20;

/** Sets the im2col block limit (tests: to cut a small conv into several chunks); returns the previous one. */
export function setChunkFloats(n: number): number {
  const before = chunkFloats;
  chunkFloats = n;
  return before;
}

interface Geometry {
  n: number;
  inH: number;
  inW: number;
  ci: number;
  kh: number;
  kw: number;
  co: number;
  sh: number;
  sw: number;
  oh: number;
  ow: number;
  pt: number;
  pl: number;
}

function geometry(tf: Tf, xShape: number[], filterShape: number[], a: ConvAttrs): Geometry {
  const { info, kh, kw, sh, sw, oh, ow } = convGeometry(tf, xShape, filterShape, a);
  const { batchSize: n, inHeight: inH, inWidth: inW, inChannels: ci, outChannels: co, padInfo } = info;
  return { n, inH, inW, ci, kh, kw, co, sh, sw, oh, ow, pt: padInfo.top, pl: padInfo.left };
}

/**
 * Whether the matrix-product form is the faster one for this layer (measured on Original's and lightweight's
 * layers; the JS im2col costs about as much per element as the product's 2 x co FLOPs save at co = 256): the
 * filter gradient from 512 output channels on (Original's 512-2048: 15-30% less CPU), and from 96 on where the
 * im2col is small (at most 1 M floats: a deep layer or a small share of the batch), where the convolution form's
 * fixed costs (its parameter-sized output written and transposed, an XNNPACK operator made for dy every call,
 * the batch as its inner dimension) outweigh the im2col: lightweight's layers of 96-384 channels at batch 8
 * (a gradient worker's share) 1-49% less CPU, at batch 16 (4x4 to 8x8 pictures) 0-41% (2026-12-02,
 * docs/performance.md); wider pictures and narrower layers keep the convolution form. The input gradient from
 * 32 on where the convolution form is slow (a stride > 1: four phase convs and an interleave; or a picture of
 * at most 8 x 8, where the flipped filter's copy dominates).
 */
function useMatMul(g: Geometry, kind: 'filter' | 'input'): boolean {
  if (kind === 'filter') return g.co >= 512 || (g.co >= 96 && g.kh * g.kw * g.ci * g.n * g.oh * g.ow <= 2 ** 20);
  return g.co >= 32 && (g.sh > 1 || g.sw > 1 || g.oh * g.ow <= 64);
}

/** Whether the backprop kernel `kind` takes the matrix-product form for this conv (tests check that they do). */
export function usesMatMul(
  tf: Tf,
  kind: 'filter' | 'input',
  xShape: number[],
  filterShape: number[],
  strides: number,
  pad: 'same' | 'valid',
): boolean {
  return useMatMul(geometry(tf, xShape, filterShape, { strides, pad, dataFormat: 'NHWC' }), kind);
}

/** Output rows p = (n, oh, ow) in [from, to) at once, so that K x (to - from) floats stay under chunkFloats. */
function chunks(rows: number, k: number): Array<[number, number]> {
  const per = Math.max(1, Math.floor(chunkFloats / k));
  const out: Array<[number, number]> = [];
  for (let from = 0; from < rows; from += per) out.push([from, Math.min(rows, from + per)]);
  return out;
}

/**
 * Between x (NHWC, the conv's input) and colsT[k, q] (k = (kh, kw, ci), q = p - from for the output positions
 * p = (n, oh, ow) in [from, to)), where colsT[k, q] meets x at (n, oh*s + kh - pt, ow*s + kw - pl, ci):
 * `gather` fills colsT from x (im2col; zero outside x), `scatter` adds colsT into x (col2im).
 */
function im2col(
  g: Geometry,
  from: number,
  to: number,
  colsT: Float32Array,
  x: Float32Array,
  mode: 'gather' | 'scatter',
): void {
  const cols = to - from;
  const ohw = g.oh * g.ow;
  const gather = mode === 'gather';
  // One run of output positions with the same (n, oh) at a time; channels innermost (contiguous in x), so each
  // x element still meets its contributions in the same order (oh, kh, kw, ow) as any other loop order would.
  for (let p = from; p < to;) {
    const n = Math.floor(p / ohw);
    const oy = Math.floor((p - n * ohw) / g.ow);
    const ox0 = p - n * ohw - oy * g.ow;
    const len = Math.min(g.ow - ox0, to - p);
    const q = p - from;
    for (let a = 0; a < g.kh; a++) {
      const iy = oy * g.sh + a - g.pt;
      const inside = iy >= 0 && iy < g.inH;
      const row0 = (n * g.inH + iy) * g.inW;
      for (let b = 0; b < g.kw; b++) {
        const r0 = (a * g.kw + b) * g.ci * cols + q;
        for (let j = 0; j < len; j++) {
          const ix = (ox0 + j) * g.sw + b - g.pl;
          let d = r0 + j;
          if (!inside || ix < 0 || ix >= g.inW) {
            if (gather) for (let c = 0; c < g.ci; c++, d += cols) colsT[d] = 0;
            continue;
          }
          const i0 = (row0 + ix) * g.ci;
          if (gather) for (let c = 0; c < g.ci; c++, d += cols) colsT[d] = x[i0 + c] as number;
          else for (let c = 0; c < g.ci; c++, d += cols) x[i0 + c] = (x[i0 + c] as number) + (colsT[d] as number);
        }
      }
    }
    p += len;
  }
}

/**
 * The layer's geometry, im2col height k = kh x kw x ci and width rows = n x oh x ow when backprop kernel `kind`
 * takes the matrix-product form for it; null when the convolution form is kept.
 */
function plan(
  tf: Tf,
  kind: 'filter' | 'input',
  xShape: number[],
  filterShape: number[],
  a: ConvAttrs,
): { g: Geometry; k: number; rows: number } | null {
  if (a.dataFormat !== 'NHWC') return null;
  const g = geometry(tf, xShape, filterShape, a);
  return useMatMul(g, kind) ? { g, k: g.kh * g.kw * g.ci, rows: g.n * g.oh * g.ow } : null;
}

/** A [rows, cols] float32 tensor on the heap filled by `fill` (views are taken after the allocation). */
function heapTensor(be: WasmBackendLike, shape: number[], fill: (out: Float32Array) => void): TensorInfo {
  const t = be.makeOutput(shape, 'float32');
  fill(be.typedArrayFromHeap(t));
  return t;
}

/** The attributes of both backprop kernels (each has one of the two shapes). */
type BackpropAttrs = ConvAttrs & { filterShape: number[]; inputShape: [number, number, number, number] };

/**
 * Backprop kernel `kind`: `body` where plan() takes the matrix-product form, else the convolution form
 * (`fallback`). `body` gets the plan, the inputs (x and dy, or dy and filter), the backend and the attributes.
 */
function backpropKernel(
  tf: Tf,
  kind: 'filter' | 'input',
  fallback: KFunc,
  body: (
    p: NonNullable<ReturnType<typeof plan>>,
    t: Record<'x' | 'dy' | 'filter', TensorInfo>,
    be: WasmBackendLike,
    backend: unknown,
    a: BackpropAttrs,
  ) => TensorInfo,
): KernelConfig['kernelFunc'] {
  return (args) => {
    const t = args.inputs as unknown as Record<'x' | 'dy' | 'filter', TensorInfo>;
    const a = args.attrs as unknown as BackpropAttrs;
    const p =
      kind === 'filter' ? plan(tf, kind, t.x.shape, a.filterShape, a) : plan(tf, kind, a.inputShape, t.filter.shape, a);
    return p ? body(p, t, args.backend as WasmBackendLike, args.backend, a) : fallback(args as never);
  };
}

function filterGradient(tf: Tf, matMul: KFunc, fallback: KFunc): KernelConfig['kernelFunc'] {
  return backpropKernel(tf, 'filter', fallback, ({ g, k, rows }, { x, dy }, be, backend) => {
    const out = be.makeOutput([g.kh, g.kw, g.ci, g.co], 'float32');
    for (const [i, [from, to]] of chunks(rows, k).entries()) {
      const colsT = heapTensor(be, [1, k, to - from], (o) =>
        im2col(g, from, to, o, be.typedArrayFromHeap(x), 'gather'),
      );
      const rowsDy = heapTensor(be, [1, to - from, g.co], (o) =>
        o.set(be.typedArrayFromHeap(dy).subarray(from * g.co, to * g.co)),
      );
      try {
        const part = matMul({
          inputs: { a: colsT, b: rowsDy },
          backend,
          attrs: { transposeA: false, transposeB: false },
        });
        const src = be.typedArrayFromHeap(part);
        const dst = be.typedArrayFromHeap(out);
        if (i === 0) dst.set(src);
        else for (let j = 0; j < dst.length; j++) dst[j] = (dst[j] as number) + (src[j] as number);
        be.disposeData(part.dataId);
      } finally {
        be.disposeData(colsT.dataId);
        be.disposeData(rowsDy.dataId);
      }
    }
    return out;
  });
}

function inputGradient(tf: Tf, matMul: KFunc, fallback: KFunc): KernelConfig['kernelFunc'] {
  return backpropKernel(tf, 'input', fallback, ({ g, k, rows }, { dy, filter }, be, backend, a) => {
    const w2: TensorInfo = { dataId: filter.dataId, shape: [1, k, g.co], dtype: 'float32' };
    const dx = be.makeOutput(a.inputShape, 'float32');
    be.typedArrayFromHeap(dx).fill(0);
    for (const [from, to] of chunks(rows, k)) {
      const cols = to - from;
      // dyT[co, q] = dy[from + q, co]
      const dyT = heapTensor(be, [1, g.co, cols], (o) => {
        const src = be.typedArrayFromHeap(dy);
        for (let q = 0; q < cols; q++) {
          const s = (from + q) * g.co;
          for (let c = 0; c < g.co; c++) o[c * cols + q] = src[s + c] as number;
        }
      });
      try {
        const colsT = matMul({ inputs: { a: w2, b: dyT }, backend, attrs: { transposeA: false, transposeB: false } });
        im2col(g, from, to, be.typedArrayFromHeap(colsT), be.typedArrayFromHeap(dx), 'scatter');
        be.disposeData(colsT.dataId);
      } finally {
        be.disposeData(dyT.dataId);
      }
    }
    return dx;
  });
}

/** A row-major [rows, cols] block of `src` from `from`, transposed into `dst` ([cols, rows]). */
function transpose2d(src: Float32Array, from: number, rows: number, cols: number, dst: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const s = from + r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[s + c] as number;
  }
}

/**
 * a b^T (every dense layer's input gradient, dy W^T) takes a scalar loop in tfjs-wasm, 10-30x slower than a b:
 * with a the smaller operand (the batch), compute (b a^T)^T, transposing a and the result in JS; else transpose b.
 */
function matMulTransposedB(prev: KFunc): KernelConfig['kernelFunc'] {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
    const at = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const plain =
      !at.transposeB || at.transposeA || a.dtype !== 'float32' || a.shape.length !== 3 || b.shape.length !== 3;
    if (plain || a.shape[0] !== 1 || b.shape[0] !== 1) return prev(args as never);
    const be = backend as WasmBackendLike;
    const [, m, k] = a.shape as [number, number, number];
    const n = b.shape[1] as number;
    const mul = (x: TensorInfo, y: TensorInfo) =>
      prev({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } });
    const temps: TensorInfo[] = [];
    try {
      if (m <= n) {
        const aT = heapTensor(be, [1, k, m], (o) => transpose2d(be.typedArrayFromHeap(a), 0, m, k, o));
        temps.push(aT);
        const cT = mul(b, aT); // [1, n, m]
        temps.push(cT);
        return heapTensor(be, [1, m, n], (o) => transpose2d(be.typedArrayFromHeap(cT), 0, n, m, o));
      }
      const bT = heapTensor(be, [1, k, n], (o) => transpose2d(be.typedArrayFromHeap(b), 0, n, k, o));
      temps.push(bT);
      return mul(a, bT);
    } finally {
      for (const t of temps) be.disposeData(t.dataId);
    }
  };
}

/**
 * DepthToSpace (PixelShuffle, NHWC) as block copies on the heap: out[n, h*s + i, w*s + j, c] =
 * x[n, h, w, (i*s + j)*C + c]. tfjs-wasm's kernel is a scalar index loop (10% of a lightweight step).
 */
function depthToSpace(prev: KFunc): KernelConfig['kernelFunc'] {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as unknown as { x: TensorInfo };
    const { blockSize: s, dataFormat } = attrs as unknown as { blockSize: number; dataFormat: string };
    if (dataFormat !== 'NHWC' || x.dtype !== 'float32') return prev(args as never);
    const be = backend as WasmBackendLike;
    const [n, h, w, d] = x.shape as [number, number, number, number];
    const c = d / (s * s);
    return heapTensor(be, [n, h * s, w * s, c], (out) => {
      const src = be.typedArrayFromHeap(x);
      let o = 0;
      for (let row = 0; row < n * h; row++) {
        for (let i = 0; i < s; i++) {
          for (let col = 0; col < w; col++) {
            const from = (row * w + col) * d + i * s * c;
            out.set(src.subarray(from, from + s * c), o);
            o += s * c;
          }
        }
      }
    });
  };
}

let registered = false;

/**
 * Replaces the wasm Conv2DBackpropFilter and Conv2DBackpropInput kernels (registered before by kernels.ts) with
 * the matrix-product forms, which fall back to those kernels where the product is not the faster one.
 */
export function registerWasmConv(tf: Tf): void {
  if (registered) return;
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  const filter = tf.getKernel('Conv2DBackpropFilter', 'wasm');
  const input = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (!matMul || !filter || !input) return;
  registered = true;
  const mm = matMul.kernelFunc as unknown as KFunc;
  const replace = (old: KernelConfig, kernelFunc: KernelConfig['kernelFunc']) => {
    tf.unregisterKernel(old.kernelName, 'wasm');
    tf.registerKernel({ ...old, kernelFunc });
  };
  replace(filter, filterGradient(tf, mm, filter.kernelFunc as unknown as KFunc));
  replace(input, inputGradient(tf, mm, input.kernelFunc as unknown as KFunc));
  replace(matMul, matMulTransposedB(mm));
  const d2s = tf.getKernel('DepthToSpace', 'wasm');
  if (d2s) replace(d2s, depthToSpace(d2s.kernelFunc as unknown as KFunc));
}
