/**
 * A correctness fix for tfjs-backend-webgpu 4.22, found by tests/unit/webgpu-kernels.test.ts: its split-K matMul
 * program (chosen for one matrix, an inner size >= 2000 and few output tiles, i.e. a dense layer's input gradient
 * dy * W^T at small batch) reads B as vec4 along the wrong axis when B is transposed. dx of the `lightweight`
 * dense2 layer (2x3072 times (256x3072)^T) came out with a relative error of 1.4 instead of 1e-7 on SwiftShader;
 * the program is chosen by the shapes and the adapter's workgroup threshold, not by the driver, so hardware
 * adapters pick it too. Here such products transpose B explicitly first (a cheap copy of a weight matrix) and
 * call the kernel without transposeB. Registration is idempotent.
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

type Tf = typeof TfCore;

/** The smallest inner size for which tfjs-backend-webgpu may pick its split-K program. */
const SPLIT_K_MIN_INNER = 2000;

export function registerWebgpuFixes(tf: Tf): void {
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const native = tf.getKernel(name, 'webgpu');
    if (!native || (native as { fss?: boolean }).fss) continue;
    const transpose = tf.getKernel('Transpose', 'webgpu');
    if (!transpose) continue;
    tf.unregisterKernel(name, 'webgpu');
    const fixed: KernelConfig = {
      ...native,
      kernelFunc: (args) => {
        const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
        const attrs = args.attrs as { transposeA: boolean; transposeB: boolean };
        const rank = b.shape.length;
        const batch = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
        const aBatch = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
        const inner = b.shape[rank - 1] as number;
        if (!attrs.transposeB || batch !== 1 || aBatch !== 1 || inner < SPLIT_K_MIN_INNER) {
          return (native.kernelFunc as KernelFunc)(args);
        }
        const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
        const bT = (transpose.kernelFunc as KernelFunc)({ inputs: { x: b }, backend: args.backend, attrs: { perm } });
        try {
          return (native.kernelFunc as KernelFunc)({
            ...args,
            inputs: { ...args.inputs, b: bT as TensorInfo },
            attrs: { ...attrs, transposeB: false },
          });
        } finally {
          (args.backend as { disposeData(id: object): boolean }).disposeData((bT as TensorInfo).dataId);
        }
      },
    };
    tf.registerKernel(fixed);
    (tf.getKernel(name, 'webgpu') as { fss?: boolean }).fss = true;
  }
}
