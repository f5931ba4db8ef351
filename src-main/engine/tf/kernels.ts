/**
 * Kernels and gradients that training needs and tfjs 4.22 lacks:
 * - a gradient for `DepthToSpace` (PixelShuffle), on every backend: space-to-depth of dy by reshape + transpose;
 * - `Conv2DBackpropFilter` on the wasm backend: the filter gradient of a conv is itself a convolution,
 *   dW[kh,kw,ci,co] = sum_{b,oh,ow} x[b, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[b,oh,ow,co], i.e. a stride-1 conv of
 *   x^T (batch ci, channels b) with dy^T (as a filter of size OHxOW, dilation s), computed by XNNPACK's conv.
 * Both are checked against the cpu backend in tests/unit/tf-kernels.test.ts. Registration is idempotent.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedTensorMap, TensorInfo } from '@tensorflow/tfjs-core';
import { registerWasmConv } from './wasm-conv';

type Tf = typeof TfCore;
let registered = false;

export function registerTrainingKernels(tf: Tf): void {
  if (registered) return;
  registered = true;
  if (!tf.getGradient('DepthToSpace')) {
    tf.registerGradient({
      kernelName: 'DepthToSpace',
      gradFunc: (dy, _saved, attrs) => {
        const { blockSize, dataFormat } = attrs as unknown as { blockSize: number; dataFormat: string };
        if (dataFormat !== 'NHWC') throw new Error('DepthToSpace gradient: only NHWC');
        const g = dy as TfCore.Tensor4D;
        return { x: () => spaceToDepth(tf, g, blockSize) };
      },
    });
  }
  if (!tf.getKernel('Conv2DBackpropFilter', 'wasm')) tf.registerKernel(wasmConv2DBackpropFilter(tf));
  // tfjs-wasm's own Conv2DBackpropInput is a scalar C++ loop (two thirds of a training step); replace it by
  // XNNPACK's conv on the zero-upsampled dy with the flipped filter.
  const existing = tf.getKernel('Conv2DBackpropInput', 'wasm');
  if (existing && !(existing as { fss?: boolean }).fss) {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    // Keep the native kernel's setupFunc (it binds the wasm function the fallback path calls).
    const k = wasmConv2DBackpropInput(tf);
    tf.registerKernel(existing.setupFunc ? { ...k, setupFunc: existing.setupFunc } : k);
    (tf.getKernel('Conv2DBackpropInput', 'wasm') as { fss?: boolean }).fss = true;
    nativeBackpropInput = existing.kernelFunc as unknown as KFunc;
  }
  const mm = tf.getKernel('BatchMatMul', 'wasm');
  if (mm && !(mm as { fss?: boolean }).fss) {
    nativeBatchMatMul = mm.kernelFunc as unknown as KFunc;
    tf.unregisterKernel('BatchMatMul', 'wasm');
    const k = wasmBatchMatMul();
    tf.registerKernel(mm.setupFunc ? { ...k, setupFunc: mm.setupFunc } : k);
    (tf.getKernel('BatchMatMul', 'wasm') as { fss?: boolean }).fss = true;
  }
  registerWasmConv(tf); // the backprop kernels as matrix products where faster (wasm-conv.ts)
}

let nativeBackpropInput: KFunc | undefined;
let nativeBatchMatMul: KFunc | undefined;

/**
 * BatchMatMul with transposeA (every dense layer's weight gradient, x^T dy) is 20x slower than without on
 * tfjs-wasm: transpose A in JS on the heap (it is the activation, small), then multiply without it.
 */
function wasmBatchMatMul(): KernelConfig {
  return {
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const native = nativeBatchMatMul as KFunc;
      const { inputs, backend, attrs } = args;
      const { a, b } = inputs as unknown as { a: TensorInfo; b: TensorInfo };
      const at = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!at.transposeA || a.shape.length !== 3 || a.dtype !== 'float32') return native(args as never);
      const be = backend as WasmBackendLike;
      const [bt, m, k] = a.shape as [number, number, number];
      const t4 = heapTranspose(be, { dataId: a.dataId, shape: [1, bt, m, k], dtype: 'float32' }, [0, 1, 3, 2]);
      try {
        const aT: TensorInfo = { dataId: t4.dataId, shape: [bt, k, m], dtype: 'float32' };
        return native({ inputs: { a: aT, b }, backend, attrs: { ...at, transposeA: false } } as never);
      } finally {
        be.disposeData(t4.dataId);
      }
    },
  };
}

/**
 * Inverse of depthToSpace (NHWC, TensorFlow channel order): y[n,h*b+i,w*b+j,c] = x[n,h,w,(i*b+j)*C+c].
 * Rank-4 transposes only (the wasm Transpose kernel is fastest there).
 */
export function spaceToDepth(tf: Tf, y: TfCore.Tensor4D, b: number): TfCore.Tensor4D {
  const [n, hb, wb, c] = y.shape;
  const h = hb / b;
  const w = wb / b;
  return tf.tidy(() => {
    const r = tf.reshape(y, [n * h, b, w, b * c]);
    const t = tf.transpose(r, [0, 2, 1, 3]);
    return tf.reshape(t, [n, h, w, b * b * c]);
  });
}

interface WasmBackendLike {
  disposeData(dataId: object): boolean;
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(t: TensorInfo): Float32Array;
}

/**
 * 4-D transpose in JS directly on the wasm heap, optionally flipping source dims 0 and 1 (a conv filter's
 * spatial flip). tfjs-wasm's Transpose and Reverse kernels are scalar index loops: on a 3x3x512x1024 filter
 * they take 100-200 ms; this takes a fraction of that.
 */
function heapTranspose(
  be: WasmBackendLike,
  x: TensorInfo,
  perm: [number, number, number, number],
  flip01 = false,
): TensorInfo {
  const shape = x.shape as [number, number, number, number];
  const outShape = perm.map((p) => shape[p] as number) as [number, number, number, number];
  const out = be.makeOutput(outShape, 'float32');
  const src = be.typedArrayFromHeap(x);
  const dst = be.typedArrayFromHeap(out);
  const st = [shape[1] * shape[2] * shape[3], shape[2] * shape[3], shape[3], 1];
  // Source offset of each output index along each output dim.
  const s0 = st[perm[0]] as number;
  const s1 = st[perm[1]] as number;
  const s2 = st[perm[2]] as number;
  const s3 = st[perm[3]] as number;
  const [n0, n1, n2, n3] = outShape;
  const flipOff = (d: number, i: number) => (flip01 && (d === 0 || d === 1) ? (shape[d] as number) - 1 - i : i);
  let o = 0;
  for (let a = 0; a < n0; a++) {
    const ba = flipOff(perm[0], a) * s0;
    for (let b = 0; b < n1; b++) {
      const bb = ba + flipOff(perm[1], b) * s1;
      for (let c = 0; c < n2; c++) {
        const bc = bb + flipOff(perm[2], c) * s2;
        if (flip01 && (perm[3] === 0 || perm[3] === 1)) {
          for (let d = 0; d < n3; d++) dst[o++] = src[bc + flipOff(perm[3], d) * s3] as number;
        } else {
          for (let d = 0, si = bc; d < n3; d++, si += s3) dst[o++] = src[si] as number;
        }
      }
    }
  }
  return out;
}

type KFunc = (args: {
  inputs: NamedTensorMap | Record<string, TensorInfo>;
  backend: unknown;
  attrs?: Record<string, unknown>;
}) => TensorInfo;

function kernelOf(tf: Tf, name: string): KFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} missing`);
  return k.kernelFunc as unknown as KFunc;
}

/** The attributes the Conv2D backprop kernels read (besides the input's or the filter's shape). */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | TfCore.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The forward convolution's geometry: tfjs's Conv2DInfo and its filter, stride and output sizes. */
export function convGeometry(tf: Tf, xShape: readonly number[], filterShape: readonly number[], a: ConvAttrs) {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
  return { info, kh, kw, sh, sw, oh, ow };
}

/** A stride-1 NHWC Conv2D's attributes with explicit padding [top, bottom] x [left, right]. */
function stride1ConvAttrs(
  top: number,
  bottom: number,
  left: number,
  right: number,
  dilations: [number, number] = [1, 1],
): Record<string, unknown> {
  return {
    strides: [1, 1],
    pad: [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ],
    dataFormat: 'NHWC',
    dilations,
    dimRoundingMode: undefined,
  };
}

/**
 * dx[i] = sum_k dyUp[i + pt - k] W[k] where dyUp is dy with s-1 zeros after each element: a stride-1 correlation
 * of dyUp (padded K-1-pt on top) with the filter flipped in space and transposed in/out.
 */
function wasmConv2DBackpropInput(tf: Tf): KernelConfig {
  return {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { dy, filter } = inputs as unknown as { dy: TensorInfo; filter: TensorInfo };
      const a = attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
      const { info, kh, kw, sh, sw, oh, ow } = convGeometry(tf, a.inputShape, filter.shape, a);
      const top = kh - 1 - info.padInfo.top;
      const left = kw - 1 - info.padInfo.left;
      if (a.dataFormat !== 'NHWC' || sh !== sw || top < 0 || left < 0) {
        if (!nativeBackpropInput) throw new Error('Conv2DBackpropInput (wasm): unsupported configuration');
        return nativeBackpropInput(args as never);
      }
      const [n, inH, inW, ci] = a.inputShape;
      const co = dy.shape[3] as number;
      const be = backend as WasmBackendLike;
      const k = (name: string) => kernelOf(tf, name);
      const temps: TensorInfo[] = [];
      const keep = <T extends TensorInfo>(t: T): T => {
        temps.push(t);
        return t;
      };
      try {
        if (sh > 1) {
          const r = polyphaseBackpropInput(tf, be, backend, dy, filter, info, a.inputShape, keep);
          if (r) return r;
        }
        let up: TensorInfo = dy;
        let upH = oh;
        let upW = ow;
        if (sh > 1) {
          const z = keep(k('ZerosLike')({ inputs: { x: dy }, backend }));
          const parts = [dy, ...Array.from({ length: sh * sh - 1 }, () => z)];
          const cat = keep(k('Concat')({ inputs: parts as unknown as NamedTensorMap, backend, attrs: { axis: 3 } }));
          up = keep(k('DepthToSpace')({ inputs: { x: cat }, backend, attrs: { blockSize: sh, dataFormat: 'NHWC' } }));
          upH = oh * sh;
          upW = ow * sw;
        }
        let bottom = inH + kh - 1 - upH - top;
        let right = inW + kw - 1 - upW - left;
        if (bottom < 0 || right < 0) {
          const hh = upH + Math.min(0, bottom);
          const ww = upW + Math.min(0, right);
          up = keep(k('Slice')({ inputs: { x: up }, backend, attrs: { begin: [0, 0, 0, 0], size: [n, hh, ww, co] } }));
          bottom = Math.max(0, bottom);
          right = Math.max(0, right);
        }
        const wT = keep(heapTranspose(be, filter, [0, 1, 3, 2], true)); // flipped, [kh,kw,co,ci]
        const out = k('Conv2D')({
          inputs: { x: up, filter: wT },
          backend,
          attrs: stride1ConvAttrs(top, bottom, left, right),
        });
        if (out.shape[1] !== inH || out.shape[2] !== inW || out.shape[3] !== ci) {
          throw new Error(`Conv2DBackpropInput (wasm): got ${out.shape.join('x')}, expected ${a.inputShape.join('x')}`);
        }
        return out;
      } finally {
        for (const t of temps) be.disposeData(t.dataId);
      }
    },
  };
}

/**
 * Stride-s input gradient without multiplying by zeros: the output rows/cols of each phase r (i + pt = q*s + r)
 * only meet the filter taps k = r + s*j, so dx of phase r is a stride-1 correlation of dy with the flipped
 * sub-filter W[r::s]; the s*s phase maps are interleaved by depth-to-space and cropped by the padding.
 * Returns null for shapes it does not handle (the caller then zero-upsamples dy).
 */
function polyphaseBackpropInput(
  tf: Tf,
  be: WasmBackendLike,
  backend: unknown,
  dy: TensorInfo,
  filter: TensorInfo,
  info: TfCore.backend_util.Conv2DInfo,
  inputShape: [number, number, number, number],
  keep: <T extends TensorInfo>(t: T) => T,
): TensorInfo | null {
  const { filterHeight: kh, filterWidth: kw, strideHeight: s, outHeight: oh, outWidth: ow } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const [n, inH, inW, ci] = inputShape;
  if (kh < s || kw < s) return null;
  const qh = Math.ceil((inH + pt) / s);
  const qw = Math.ceil((inW + pl) / s);
  if (qh < oh || qw < ow) return null;
  const co = filter.shape[3] as number;
  const cin = filter.shape[2] as number;
  const conv = kernelOf(tf, 'Conv2D');
  const phases: TensorInfo[] = [];
  for (let ry = 0; ry < s; ry++) {
    for (let rx = 0; rx < s; rx++) {
      const jy = Math.ceil((kh - ry) / s);
      const jx = Math.ceil((kw - rx) / s);
      // Sub-filter W[ry + s*j, rx + s*i], flipped in space, in/out swapped: [jy, jx, co, ci].
      const sub = keep(be.makeOutput([jy, jx, co, cin], 'float32'));
      const dst = be.typedArrayFromHeap(sub);
      const src = be.typedArrayFromHeap(filter);
      let o = 0;
      for (let a = 0; a < jy; a++) {
        const fy = ry + s * (jy - 1 - a);
        for (let b = 0; b < jx; b++) {
          const fx = rx + s * (jx - 1 - b);
          const base = (fy * kw + fx) * cin * co;
          for (let c = 0; c < co; c++)
            for (let d = 0, si = base + c; d < cin; d++, si += co) dst[o++] = src[si] as number;
        }
      }
      phases.push(
        keep(
          conv({
            inputs: { x: dy, filter: sub },
            backend,
            attrs: stride1ConvAttrs(jy - 1, qh - oh, jx - 1, qw - ow),
          }),
        ),
      );
    }
  }
  const cat = keep(
    kernelOf(tf, 'Concat')({ inputs: phases as unknown as NamedTensorMap, backend, attrs: { axis: 3 } }),
  );
  const full = kernelOf(
    tf,
    'DepthToSpace',
  )({ inputs: { x: cat }, backend, attrs: { blockSize: s, dataFormat: 'NHWC' } });
  if (full.shape[1] === inH && full.shape[2] === inW && pt === 0 && pl === 0) return full;
  keep(full);
  return kernelOf(
    tf,
    'Slice',
  )({ inputs: { x: full }, backend, attrs: { begin: [0, pt, pl, 0], size: [n, inH, inW, ci] } });
}

function wasmConv2DBackpropFilter(tf: Tf): KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as unknown as { x: TensorInfo; dy: TensorInfo };
      const a = attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
      if (a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter (wasm): only NHWC');
      const { info, kh, kw, sh, sw, oh, ow } = convGeometry(tf, x.shape, a.filterShape, a);
      const be = backend as WasmBackendLike;
      const conv2d = kernelOf(tf, 'Conv2D');
      const slice = kernelOf(tf, 'Slice');
      const [, inH, inW] = x.shape as [number, number, number, number];
      const top = info.padInfo.top;
      const left = info.padInfo.left;
      // Bottom/right padding so that the stride-1 dilated conv yields at least kh x kw outputs.
      const bottom = Math.max(0, kh - 1 + (oh - 1) * sh - (inH + top - 1));
      const right = Math.max(0, kw - 1 + (ow - 1) * sw - (inW + left - 1));
      const temps: TensorInfo[] = [];
      try {
        const xT = heapTranspose(be, x, [3, 1, 2, 0]); // [ci, H, W, B]
        temps.push(xT);
        const dyT = heapTranspose(be, dy, [1, 2, 0, 3]); // [OH, OW, B, co]
        temps.push(dyT);
        const conv = conv2d({
          inputs: { x: xT, filter: dyT },
          backend,
          attrs: stride1ConvAttrs(top, bottom, left, right, [sh, sw]),
        }); // [ci, >=kh, >=kw, co]
        temps.push(conv);
        let cropped = conv;
        if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
          cropped = slice({
            inputs: { x: conv },
            backend,
            attrs: { begin: [0, 0, 0, 0], size: [conv.shape[0], kh, kw, conv.shape[3]] },
          });
          temps.push(cropped);
        }
        return heapTranspose(be, cropped, [1, 2, 0, 3]); // [kh, kw, ci, co]
      } finally {
        for (const t of temps) be.disposeData(t.dataId);
      }
    },
  };
}
