/**
 * The webgpu backend (tfjs-backend-webgpu on Dawn, here on SwiftShader's software Vulkan) against a reference
 * backend: every forward and gradient kernel the three trainers use (batch 1-2), within 1e-4 relative
 * (max |webgpu - reference| / max |reference| per tensor). `lightweight` runs at its real shapes against the cpu
 * backend. `original` and `masked128` run at their real channel counts, kernels, strides and dense sizes, with a
 * 4x smaller image side for the convolutions, against wasm (whose kernels tests/unit/tf-kernels.test.ts checks
 * against cpu): at full size their layers are 13 GFLOP, minutes on the pure-JS cpu backend and on SwiftShader; their
 * layers of more than 2 M weights are left out (MAX_WEIGHTS).
 * The layers are built by the trainers' own code
 * (models/layers.ts: conv2d and fused conv2d + bias, LeakyReLU, sigmoid, dense as fused matMul + bias, PixelShuffle
 * upscale with the DepthToSpace gradient the project registers) and the losses by train/loss.ts (MAE, SSIM and the
 * mask's mean square). Each layer's gradients are those of sum(y * r) for a random r: dx (Conv2DBackpropInput /
 * matMul), the kernel's (Conv2DBackpropFilter / matMul) and the bias's (a sum reduction). This test found the
 * split-K matMul bug that src-main/engine/tf/webgpu-kernels.ts works around (lightweight dense2 dx: error 1.4).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as TfCore from '@tensorflow/tfjs-core';
import { useSoftwareVulkan } from '../helpers/vulkan';
import { loadTf, type LoadedTf, type Tf } from '../../src-main/engine/tf/backend';
import { reconstructionLoss, ssim } from '../../src-main/engine/train/loss';
import { trainers, type AutoencoderConfig } from '../../src-main/engine/train/models/index';
import { Params, conv, dense, upscale, type T4 } from '../../src-main/engine/train/models/layers';
import { Rng } from '../../src-main/engine/train/rng';

const vulkan = useSoftwareVulkan();
const TOL = 1e-4;

let loaded: LoadedTf;
let tf: Tf;

beforeAll(async () => {
  if (vulkan.skip) return;
  loaded = await loadTf({ backend: 'webgpu' });
  tf = loaded.tf;
}, 60_000);
afterAll(async () => {
  if (tf) await tf.setBackend('wasm');
});

function rand(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng.next() * 2 - 1) * scale;
  return out;
}

function relErr(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num = Math.max(num, Math.abs((got[i] ?? NaN) - (ref[i] ?? 0)));
    den = Math.max(den, Math.abs(ref[i] ?? 0));
  }
  return Number.isNaN(num) ? Infinity : num / Math.max(den, 1e-12);
}

/** Runs `f` on `backend` and reads its named outputs back (asynchronously: webgpu cannot read synchronously in Node). */
async function on(
  backend: 'cpu' | 'wasm' | 'webgpu',
  f: () => Record<string, TfCore.Tensor>,
): Promise<Record<string, Float32Array>> {
  await tf.setBackend(backend);
  const outs = f();
  const res: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(outs)) res[k] = (await t.data()) as Float32Array;
  tf.dispose(Object.values(outs));
  return res;
}

/** Runs `f` on the reference backend and on webgpu and checks every output within TOL. */
async function compare(
  label: string,
  f: () => Record<string, TfCore.Tensor>,
  reference: 'cpu' | 'wasm' = 'cpu',
): Promise<void> {
  const t0 = performance.now();
  const ref = await on(reference, f);
  const t1 = performance.now();
  const got = await on('webgpu', f);
  const ms = `${reference} ${Math.round(t1 - t0)} ms, webgpu ${Math.round(performance.now() - t1)} ms`;
  const errs = Object.keys(ref).map((k) => {
    const r = ref[k] as Float32Array;
    const g = got[k] as Float32Array;
    expect(g.length, `${label} ${k}: size`).toBe(r.length);
    return [k, relErr(g, r)] as const;
  });
  console.log(`${label}: ${errs.map(([k, e]) => `${k} ${e.toExponential(1)}`).join(', ')} (${ms})`);
  for (const [k, e] of errs) expect(e, `${label} ${k}: relative error`).toBeLessThan(TOL);
}

type Layer =
  | {
      kind: 'conv';
      key: string;
      h: number;
      cin: number;
      k: number;
      cout: number;
      stride: number;
      act: 'leaky' | 'sigmoid';
      first: boolean;
    }
  | { kind: 'dense'; key: string; nin: number; nout: number }
  | { kind: 'upscale'; key: string; h: number; cin: number; cout: number };

/**
 * Every layer of a trainer with its input shape, in the order autoencoder.ts builds them; conv and upscale inputs
 * `shrink` times smaller (at least 4 px, 2 px for the latent).
 */
function layersOf(cfg: AutoencoderConfig, shrink = 1): Layer[] {
  const out: Layer[] = [];
  const side = (h: number, min: number) => Math.max(Math.min(h, min), h / shrink);
  let s = cfg.size;
  let ch = 3;
  cfg.encoder.forEach((w, i) => {
    out.push({
      kind: 'conv',
      key: `encoder${i + 1}`,
      h: side(s, 4),
      cin: ch,
      k: 5,
      cout: w,
      stride: 2,
      act: 'leaky',
      first: i === 0,
    });
    s /= 2;
    ch = w;
  });
  out.push({ kind: 'dense', key: 'dense1', nin: s * s * ch, nout: cfg.dense });
  out.push({ kind: 'dense', key: 'dense2', nin: cfg.dense, nout: cfg.latent * cfg.latent * cfg.latentChannels });
  out.push({
    kind: 'upscale',
    key: 'encoder-upscale',
    h: side(cfg.latent, 2),
    cin: cfg.latentChannels,
    cout: cfg.encoderUpscale,
  });
  let c = cfg.encoderUpscale;
  let hs = cfg.latent * 2;
  cfg.decoder.forEach((w, i) => {
    out.push({ kind: 'upscale', key: `decoder-upscale${i + 1}`, h: side(hs, 4), cin: c, cout: w });
    c = w;
    hs *= 2;
  });
  out.push({
    kind: 'conv',
    key: 'face',
    h: side(hs, 4),
    cin: c,
    k: 5,
    cout: 3,
    stride: 1,
    act: 'sigmoid',
    first: false,
  });
  if (cfg.mask)
    out.push({
      kind: 'conv',
      key: 'mask',
      h: side(hs, 4),
      cin: c,
      k: 5,
      cout: 1,
      stride: 1,
      act: 'sigmoid',
      first: false,
    });
  return out;
}

/**
 * Layers with more weights are left out: original's dense layers, its 512/1024-channel convs and masked128's dense
 * layers (2.4 to 19 M weights) take minutes each on SwiftShader (tens of millions of weights uploaded, differentiated
 * and read back), which CI cannot afford. The same programs run in the smaller layers at other sizes.
 */
const MAX_WEIGHTS = 2_000_000;

function weightsOf(l: Layer): number {
  if (l.kind === 'dense') return l.nin * l.nout;
  return l.kind === 'conv' ? l.k * l.k * l.cin * l.cout : 9 * l.cin * l.cout * 4;
}

/** The layer's output and the gradients of sum(y * r) w.r.t. its input (unless first), kernel and bias. */
function layerRun(l: Layer, batch: number, seed: number): () => Record<string, TfCore.Tensor> {
  return () => {
    const p = new Params(tf, new Rng(seed));
    let shape: number[];
    if (l.kind === 'dense') {
      p.dense(l.key, l.nin, l.nout);
      shape = [batch, l.nin];
    } else {
      if (l.kind === 'conv') p.conv(l.key, l.k, l.cin, l.cout, l.act === 'sigmoid' ? 'glorot' : 'he');
      else p.conv(l.key, 3, l.cin, l.cout * 4);
      shape = [batch, l.h, l.h, l.cin];
    }
    // Non-zero biases, so that the bias is tested in the forward pass too.
    const bias = p.get(`${l.key}/bias`);
    bias.assign(tf.tensor(rand(bias.size, seed + 1, 0.1), bias.shape));
    const x = tf.variable(
      tf.tensor(
        rand(
          shape.reduce((a, b) => a * b, 1),
          seed + 2,
        ),
        shape,
      ),
    );
    const y = (): TfCore.Tensor =>
      l.kind === 'dense'
        ? dense(p, l.key, x as unknown as TfCore.Tensor2D)
        : l.kind === 'conv'
          ? conv(p, l.key, x as unknown as T4, l.stride, l.act, l.first)
          : upscale(p, l.key, x as unknown as T4);
    const yShape = tf.tidy(() => y().shape);
    const r = tf.tensor(
      rand(
        yShape.reduce((a, b) => a * b, 1),
        seed + 3,
      ),
      yShape,
    );
    const kernel = p.get(`${l.key}/kernel`);
    const wrt = l.kind === 'conv' && l.first ? [kernel, bias] : [kernel, bias, x];
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(y(), r)) as TfCore.Scalar, wrt);
    const out: Record<string, TfCore.Tensor> = {
      y: tf.tidy(y),
      dKernel: grads[kernel.name] as TfCore.Tensor,
      dBias: grads[bias.name] as TfCore.Tensor,
    };
    if (grads[x.name]) out.dx = grads[x.name] as TfCore.Tensor;
    tf.dispose([value, r, x]);
    p.dispose();
    return out;
  };
}

describe.skipIf(vulkan.skip !== undefined)(`webgpu kernels equal cpu within ${TOL} relative`, () => {
  it('runs on a software adapter (SwiftShader) that auto does not pick', () => {
    expect(loaded.backend).toBe('webgpu');
    const probe = loaded.probes.find((p) => p.name === 'webgpu');
    expect(probe?.adapter?.software).toBe(true);
    expect(probe?.adapter?.renderer).toBe('SwiftShader');
    console.log(`adapter: ${probe?.adapter?.summary}`);
  });

  // Every distinct layer of the three trainers (the same shape in two trainers is tested once).
  const seen = new Set<string>();
  for (const name of ['lightweight', 'original', 'masked128'] as const) {
    for (const l of layersOf(trainers[name], name === 'lightweight' ? 1 : 4)) {
      const sig = JSON.stringify({ ...l, key: '' });
      if (seen.has(sig)) continue;
      seen.add(sig);
      const shape =
        l.kind === 'dense'
          ? `${l.nin} -> ${l.nout}`
          : l.kind === 'conv'
            ? `${l.h}x${l.h}x${l.cin} -> ${l.k}x${l.k}/${l.stride} x${l.cout} ${l.act}`
            : `${l.h}x${l.h}x${l.cin} -> 3x3 x${l.cout * 4} leaky, PixelShuffle`;
      const batch = l.kind === 'dense' ? 2 : 1;
      if (weightsOf(l) > MAX_WEIGHTS) continue;
      const reference = name === 'lightweight' ? 'cpu' : 'wasm';
      it(
        `${name} ${l.key} (${l.kind} ${shape}): forward and gradients vs ${reference}`,
        { timeout: 120_000 },
        async () => {
          await compare(`${name} ${l.key}`, layerRun(l, batch, seen.size * 10), reference);
        },
      );
    }
  }

  it('DepthToSpace and its registered gradient (space-to-depth)', async () => {
    const shape: [number, number, number, number] = [2, 5, 6, 12];
    const x0 = rand(2 * 5 * 6 * 12, 41);
    // Gradients are registered for every backend at once, so comparing backends cannot catch a wrong gradient
    // function: d/dx sum(d2s(x) * d2s(x0)) is x0 exactly (d2s is a permutation), on webgpu as on cpu.
    await compare('DepthToSpace', () => {
      const x = tf.variable(tf.tensor4d(rand(x0.length, 42), shape));
      const r = tf.depthToSpace(tf.tensor4d(x0, shape), 2);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.depthToSpace(x as unknown as T4, 2), r)), [x]);
      const dx = grads[x.name] as TfCore.Tensor;
      const out = { y: tf.depthToSpace(x as unknown as T4, 2), dx };
      tf.dispose([value, r, x]);
      return out;
    });
    await tf.setBackend('webgpu');
    const x = tf.variable(tf.tensor4d(rand(x0.length, 42), shape));
    const r = tf.depthToSpace(tf.tensor4d(x0, shape), 2);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.depthToSpace(x as unknown as T4, 2), r)), [x]);
    expect(Array.from((await (grads[x.name] as TfCore.Tensor).data()) as Float32Array)).toEqual(Array.from(x0));
    tf.dispose([value, r, x, ...Object.values(grads)]);
  });

  // SSIM (an 11x11 conv per plane, slow on SwiftShader) at 64 px only: at 128 px it runs the same kernels.
  for (const [size, n, withMask, losses] of [
    [64, 2, false, ['mae', 'ssim', 'mae+ssim']],
    [128, 1, true, ['mae']],
  ] as const) {
    it(
      `losses at ${size} px (${losses.join(', ')}${withMask ? ', mask MSE' : ''}) and their gradients`,
      { timeout: 180_000 },
      async () => {
        const len = n * size * size * 3;
        await compare(`losses ${size}px`, () => {
          const pred = tf.variable(
            tf.tensor4d(
              rand(len, 51, 3).map((v) => 1 / (1 + Math.exp(-v))),
              [n, size, size, 3],
            ),
          );
          const target = tf.tensor4d(
            rand(len, 52, 0.5).map((v) => v + 0.5),
            [n, size, size, 3],
          );
          const out: Record<string, TfCore.Tensor> = {};
          if (losses.length > 1) out.ssim = ssim(tf, pred as unknown as T4, target);
          for (const loss of losses) {
            const { value, grads } = tf.variableGrads(
              () => reconstructionLoss(tf, loss, pred as unknown as T4, target),
              [pred],
            );
            out[loss] = value;
            out[`d ${loss}`] = grads[pred.name] as TfCore.Tensor;
          }
          if (withMask) {
            const m = tf.variable(
              tf.tensor4d(
                rand(n * size * size, 53, 0.5).map((v) => v + 0.5),
                [n, size, size, 1],
              ),
            );
            const mt = tf.tensor4d(
              rand(n * size * size, 54, 0.5).map((v) => v + 0.5),
              [n, size, size, 1],
            );
            const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(m, mt))) as TfCore.Scalar, [m]);
            out.mask = value;
            out['d mask'] = grads[m.name] as TfCore.Tensor;
            tf.dispose([m, mt]);
          }
          tf.dispose([pred, target]);
          return out;
        });
      },
    );
  }
});
