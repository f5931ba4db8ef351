/**
 * The trainable face segmentation ("segment") model, after DeepFaceLab's XSeg: a small U-Net on raw tfjs ops
 * (the same `Params` / `conv` blocks as the face trainers, so it runs on every backend and saves through the
 * atomic model save of train/model-io.ts). It learns the user's painted masks of one person (docs/masks.md):
 *
 *   input S x S x 3 (S = 64, 128 or 256) -> 4 levels (c, 2c, 4c, 4c channels; each two 3x3 convs, a stride-2
 *   conv between levels) -> decoder: pixel-shuffle upscale, concat with the skip, two 3x3 convs -> 1x1 conv ->
 *   one logit per pixel.
 *
 * Loss: binary cross-entropy on the logits plus the soft Dice loss (the Dice term keeps thin borders from being
 * swamped by the large, easy inside and outside). Training samples get faceswap's augmentation (rotation, zoom,
 * shift, flip, colour; no warp), applied to image and mask alike (train/augment.ts).
 */
import type * as TfCore from '@tensorflow/tfjs-core';
import { UserError } from '../../../src-shared/errors';
import { MODEL_STATE_FILE, type ModelState } from '../../../src-shared/formats/model-state';
import { makeBatch, type AugmentOptions, type CachedFace } from '../train/augment';
import { Adam } from '../train/adam';
import { conv, Params, upscale, type T4 } from '../train/models/layers';
import { readModelFiles, saveModel } from '../train/model-io';
import type { FaceModel } from '../train/models/index';
import { Rng } from '../train/rng';

type Tf = typeof TfCore;

/** The `trainer` name a segment model folder's state.json carries. */
export const SEGMENT_TRAINER = 'segment';

export interface SegmentNet {
  tf: Tf;
  params: Params;
  size: number;
  width: number;
  /** Logits [n, S, S, 1]. */
  forward(x: T4): T4;
}

/** Builds the U-Net with seeded initial weights. `width` = channels of the first level. */
export function buildSegmentNet(tf: Tf, size: number, width = 16, seed = 1): SegmentNet {
  if (size % 8 !== 0) throw new UserError('bad-option', `segment size ${size} is not a multiple of 8`);
  const p = new Params(tf, new Rng(seed));
  const ch = [width, width * 2, width * 4, width * 4];
  let cin = 3;
  ch.forEach((c, i) => {
    if (i > 0) p.conv(`down${i}`, 3, cin, c);
    p.conv(`enc${i}a`, 3, i > 0 ? c : cin, c);
    p.conv(`enc${i}b`, 3, c, c);
    cin = c;
  });
  for (let i = ch.length - 2; i >= 0; i--) {
    const c = ch[i] as number;
    p.conv(`up${i}`, 3, cin, c * 4); // pixel shuffle: c*4 channels -> c at twice the side
    p.conv(`dec${i}a`, 3, c * 2, c);
    p.conv(`dec${i}b`, 3, c, c);
    cin = c;
  }
  p.conv('out', 1, cin, 1, 'glorot');
  const forward = (x: T4): T4 => {
    const skips: T4[] = [];
    let h = x;
    for (let i = 0; i < ch.length; i++) {
      if (i > 0) h = conv(p, `down${i}`, h, 2, 'leaky');
      h = conv(p, `enc${i}a`, h, 1, 'leaky', i === 0);
      h = conv(p, `enc${i}b`, h, 1, 'leaky');
      skips.push(h);
    }
    for (let i = ch.length - 2; i >= 0; i--) {
      h = upscale(p, `up${i}`, h);
      h = tf.concat([h, skips[i] as T4], 3);
      h = conv(p, `dec${i}a`, h, 1, 'leaky');
      h = conv(p, `dec${i}b`, h, 1, 'leaky');
    }
    return conv(p, 'out', h, 1, 'linear');
  };
  return { tf, params: p, size, width, forward };
}

/** Mean BCE on logits + soft Dice loss against targets 0..1. */
export function segmentLoss(tf: Tf, logits: T4, target: T4): TfCore.Scalar {
  return tf.tidy(() => {
    // BCE with logits, stable: max(x,0) - x z + log(1 + exp(-|x|))
    const bce = tf.mean(
      tf.add(tf.sub(tf.relu(logits), tf.mul(logits, target)), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))),
    );
    const prob = tf.sigmoid(logits);
    const inter = tf.sum(tf.mul(prob, target));
    const dice = tf.sub(1, tf.div(tf.add(tf.mul(inter, 2), 1), tf.add(tf.add(tf.sum(prob), tf.sum(target)), 1)));
    return tf.add(bce, dice) as TfCore.Scalar;
  });
}

export interface SegmentTrainOptions {
  iterations: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  /** Stop after this many seconds even if iterations remain (0 = no limit). */
  maxSeconds?: number;
  signal?: AbortSignal;
  /** Called after each iteration with the loss. */
  onIteration?(iteration: number, loss: number): void | Promise<void>;
}

/** The augmentation of a training sample: rotation, zoom, shift, flip and colour, image and mask alike. */
export function segmentAugment(size: number): AugmentOptions {
  return {
    outSize: size,
    coverage: 1,
    warp: false,
    flip: true,
    transform: true,
    color: true,
    rotationDeg: 12,
    zoom: 0.08,
    shift: 0.06,
  };
}

/**
 * Trains `net` on faces whose alpha is the painted mask (cached at the net's size). Returns the loss of each
 * iteration. The Adam state is created here unless given (resume).
 */
export async function trainSegment(
  net: SegmentNet,
  faces: readonly CachedFace[],
  o: SegmentTrainOptions,
  adam?: Adam,
): Promise<{ losses: number[]; adam: Adam; seconds: number }> {
  const { tf } = net;
  if (faces.length === 0) throw new UserError('no-images', 'no painted faces to train the segment model on');
  const opt =
    adam ??
    new Adam(tf, net.params.vars, { learningRate: o.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, 'device');
  const rng = new Rng(o.seed + opt.step * 7919);
  const aug = segmentAugment(net.size);
  const S = net.size;
  const vars = [...net.params.vars.values()];
  const losses: number[] = [];
  const t0 = Date.now();
  for (let it = 0; it < o.iterations; it++) {
    if (o.signal?.aborted) break;
    if (o.maxSeconds && (Date.now() - t0) / 1000 >= o.maxSeconds) break;
    const batch = makeBatch(faces, o.batchSize, aug, rng, true, () => rng.int(faces.length));
    const x = tf.tensor4d(batch.target, [batch.n, S, S, 3]);
    const y = tf.tensor4d(batch.mask as Float32Array, [batch.n, S, S, 1]);
    const { value, grads } = tf.variableGrads(() => segmentLoss(tf, net.forward(x), y), vars);
    const loss = (await value.data())[0] ?? NaN;
    if (Number.isFinite(loss)) opt.apply(vars.map((v) => grads[v.name] as TfCore.Tensor));
    tf.dispose([x, y, value, ...Object.values(grads)]);
    losses.push(loss);
    await o.onIteration?.(opt.step, loss);
  }
  return { losses, adam: opt, seconds: (Date.now() - t0) / 1000 };
}

/** Mask probabilities 0..1 of RGB images (n x S x S x 3 floats 0..1), in chunks of `chunk`. */
export function predictSegment(net: SegmentNet, rgb: Float32Array, n: number, chunk = 8): Float32Array {
  const { tf, size: S } = net;
  const out = new Float32Array(n * S * S);
  for (let i = 0; i < n; i += chunk) {
    const m = Math.min(chunk, n - i);
    const probs = tf.tidy(() =>
      tf.sigmoid(net.forward(tf.tensor4d(rgb.subarray(i * S * S * 3, (i + m) * S * S * 3), [m, S, S, 3]))),
    );
    out.set(probs.dataSync() as Float32Array, i * S * S);
    probs.dispose();
  }
  return out;
}

/** Intersection over union of two masks thresholded at 0.5 (1 when both are empty). */
export function maskIoU(a: ArrayLike<number>, b: ArrayLike<number>, threshold = 0.5): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) >= threshold;
    const y = (b[i] as number) >= threshold;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

export interface SegmentModelFields {
  iteration: number;
  losses: number[];
  seconds: number;
  options: Record<string, unknown>;
  backend?: string;
}

/** Saves the model through the atomic model save (state.json commits weights and Adam moments). */
export async function saveSegmentModel(
  dir: string,
  net: SegmentNet,
  adam: Adam,
  f: SegmentModelFields,
): Promise<ModelState> {
  // The save reads only `params` of the model it is given (exportWeights).
  return saveModel(dir, { params: net.params } as unknown as FaceModel, adam, {
    trainer: SEGMENT_TRAINER,
    inputSize: net.size,
    outputSize: net.size,
    hasMask: true,
    coverage: 1,
    seed: Number(f.options.seed ?? 1),
    iteration: f.iteration,
    lossA: f.losses,
    lossB: [],
    optimizer: { name: 'adam', learningRate: adam.config.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
    options: { ...f.options, width: net.width },
    ...(f.backend ? { backend: f.backend } : {}),
    trainSeconds: f.seconds,
  });
}

/**
 * Loads a saved segment model (the newest consistent save); with `withAdam`, its optimizer state too, to resume.
 * A folder holding another kind of model is a one-line error naming its state.json.
 */
export async function loadSegmentModel(
  tf: Tf,
  dir: string,
  withAdam = false,
): Promise<{ net: SegmentNet; state: ModelState; adam?: Adam }> {
  const files = await readModelFiles(dir);
  const { state } = files;
  const file = `${dir}/${MODEL_STATE_FILE}`;
  if (state.trainer !== SEGMENT_TRAINER) {
    throw new UserError('mismatch', `${file}: a '${state.trainer}' model, not a segment model`, file);
  }
  const width = Number(state.options.width ?? 16);
  const net = buildSegmentNet(tf, state.inputSize, width, state.seed);
  const byName = new Map(state.tensors.map((t) => [t.name, t]));
  for (const [name, v] of net.params.vars) {
    const t = byName.get(name);
    if (!t || t.shape.join('x') !== v.shape.join('x')) {
      net.params.dispose();
      throw new UserError('mismatch', `${files.weightsFile}: tensor ${name} does not fit the segment model`, file);
    }
    const tensor = tf.tensor(files.weights.subarray(t.offset, t.offset + v.size), v.shape);
    v.assign(tensor);
    tensor.dispose();
  }
  let adam: Adam | undefined;
  if (withAdam) {
    const o = state.optimizer;
    adam = new Adam(
      tf,
      net.params.vars,
      { learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon },
      'device',
    );
    if (files.optimizer) adam.importMoments(files.optimizer, o.step);
  }
  return { net, state, ...(adam ? { adam } : {}) };
}
