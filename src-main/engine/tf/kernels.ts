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
    const k = wasmConv2DBackpropInput(tf);
    tf.registerKernel(k);
    (tf.getKernel('Conv2DBackpropInput', 'wasm') as { fss?: boolean }).fss = true;
    nativeBackpropInput = existing.kernelFunc as unknown as KFunc;
  }
}

let nativeBackpropInput: KFunc | undefined;

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
}

type KFunc = (args: { inputs: NamedTensorMap | Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> }) => TensorInfo;

function kernelOf(tf: Tf, name: string): KFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} missing`);
  return k.kernelFunc as unknown as KFunc;
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
      const a = attrs as unknown as {
        strides: number | [number, number];
        pad: 'valid' | 'same' | number | TfCore.backend_util.ExplicitPadding;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        inputShape: [number, number, number, number];
      };
      const info = tf.backend_util.computeConv2DInfo(
        a.inputShape,
        filter.shape as [number, number, number, number],
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
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
        const rev = keep(k('Reverse')({ inputs: { x: filter }, backend, attrs: { dims: [0, 1] } }));
        const wT = keep(k('Transpose')({ inputs: { x: rev }, backend, attrs: { perm: [0, 1, 3, 2] } })); // [kh,kw,co,ci]
        const out = k('Conv2D')({
          inputs: { x: up, filter: wT },
          backend,
          attrs: {
            strides: [1, 1],
            pad: [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ],
            dataFormat: 'NHWC',
            dilations: [1, 1],
            dimRoundingMode: undefined,
          },
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

function wasmConv2DBackpropFilter(tf: Tf): KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as unknown as { x: TensorInfo; dy: TensorInfo };
      const a = attrs as unknown as {
        strides: number | [number, number];
        pad: 'valid' | 'same' | number | TfCore.backend_util.ExplicitPadding;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        filterShape: [number, number, number, number];
      };
      if (a.dataFormat !== 'NHWC') throw new Error('Conv2DBackpropFilter (wasm): only NHWC');
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      const be = backend as WasmBackendLike;
      const transpose = kernelOf(tf, 'Transpose');
      const conv2d = kernelOf(tf, 'Conv2D');
      const slice = kernelOf(tf, 'Slice');
      const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
      const [, inH, inW] = x.shape as [number, number, number, number];
      const top = info.padInfo.top;
      const left = info.padInfo.left;
      // Bottom/right padding so that the stride-1 dilated conv yields at least kh x kw outputs.
      const bottom = Math.max(0, kh - 1 + (oh - 1) * sh - (inH + top - 1));
      const right = Math.max(0, kw - 1 + (ow - 1) * sw - (inW + left - 1));
      const temps: TensorInfo[] = [];
      try {
        const xT = transpose({ inputs: { x }, backend, attrs: { perm: [3, 1, 2, 0] } }); // [ci, H, W, B]
        temps.push(xT);
        const dyT = transpose({ inputs: { x: dy }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [OH, OW, B, co]
        temps.push(dyT);
        const conv = conv2d({
          inputs: { x: xT, filter: dyT },
          backend,
          attrs: {
            strides: [1, 1],
            pad: [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ],
            dataFormat: 'NHWC',
            dilations: [sh, sw],
            dimRoundingMode: undefined,
          },
        }); // [ci, >=kh, >=kw, co]
        temps.push(conv);
        let cropped = conv;
        if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
          cropped = slice({ inputs: { x: conv }, backend, attrs: { begin: [0, 0, 0, 0], size: [conv.shape[0], kh, kw, conv.shape[3]] } });
          temps.push(cropped);
        }
        return transpose({ inputs: { x: cropped }, backend, attrs: { perm: [1, 2, 0, 3] } }); // [kh, kw, ci, co]
      } finally {
        for (const t of temps) be.disposeData(t.dataId);
      }
    },
  };
}
