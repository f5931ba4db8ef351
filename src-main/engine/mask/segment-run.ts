/**
 * The `segment-train` and `segment-apply` stages (src-shared/stages/segment.ts; docs/masks.md).
 * - train: the faces with a painted mask (`<face>.mask.png`) of the input folders, cached at the model's size,
 *   train the U-Net (engine/mask/segment.ts) with augmentation; progress per iteration, a preview image (the
 *   predicted masks of a few painted faces) every `previewEvery`, a save every `saveEvery` and at the end, also
 *   when cancelled (the atomic model save; the folder is locked while training). An existing segment model in the
 *   folder is resumed, so one model serves every project of the same person.
 * - apply: every face of the input folders gets `<face>.segment.png` (the model's mask at the face's size) and
 *   the alignments files that hold the faces list it in `masks.segment`.
 * No tensor is left behind (asserted in tests/pipeline/segment-stages.test.ts).
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import { isMaskFile, maskFileName } from '../../../src-shared/formats/face-masks';
import { RateMeter } from '../../../src-shared/progress';
import type { SegmentApplyOptions, SegmentTrainOptions } from '../../../src-shared/stages/segment';
import type { StageContext } from '../stage';
import { loadTf } from '../tf/backend';
import type { CachedFace } from '../train/augment';
import { Adam } from '../train/adam';
import { hasModel } from '../train/model-io';
import { writeFileAtomicSafe } from '../util/atomic-write';
import { acquireLock, lockFileFor } from '../util/lock';
import { readMaskPng } from '../media/images';
import { alignmentsFilesIn, encodeMaskPng, recordMasks, writeMaskPng } from './mask-files';
import {
  buildSegmentNet,
  loadSegmentModel,
  predictSegment,
  saveSegmentModel,
  trainSegment,
  type SegmentNet,
} from './segment';

const IMAGE_RE = /\.(png|jpe?g|webp)$/i;

/** The aligned faces of a folder (mask files are not faces), sorted. */
async function facesIn(dir: string): Promise<string[]> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a folder');
    names = await readdir(dir);
  } catch {
    throw new UserError('not-found', `${dir}: no such faces folder`, dir);
  }
  return names
    .filter((n) => IMAGE_RE.test(n) && !isMaskFile(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n));
}

async function rgbAt(file: string, size: number): Promise<Uint8Array> {
  try {
    const buf = await sharp(file)
      .removeAlpha()
      .resize(size, size, { fit: 'fill', kernel: 'lanczos3' })
      .raw()
      .toBuffer();
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw new UserError(
      'bad-media',
      `${file}: not a readable image (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
      file,
    );
  }
}

/** A painted face cached for training: RGB, alpha = the painted mask. */
async function paintedFace(file: string, size: number): Promise<CachedFace> {
  const rgb = await rgbAt(file, size);
  const mask = await readMaskPng(join(dirname(file), maskFileName(file, 'painted')), size);
  const rgba = new Uint8Array(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    rgba[p * 4] = rgb[p * 3] as number;
    rgba[p * 4 + 1] = rgb[p * 3 + 1] as number;
    rgba[p * 4 + 2] = rgb[p * 3 + 2] as number;
    rgba[p * 4 + 3] = mask[p] as number;
  }
  return { rgba, size };
}

/** Float RGB 0..1 of cached faces, back to back (the model's input). */
function rgbFloats(faces: readonly CachedFace[], size: number): Float32Array {
  const out = new Float32Array(faces.length * size * size * 3);
  faces.forEach((f, i) => {
    for (let p = 0; p < size * size; p++)
      for (let c = 0; c < 3; c++) out[(i * size * size + p) * 3 + c] = (f.rgba[p * 4 + c] as number) / 255;
  });
  return out;
}

/** The preview: a row of painted faces with the predicted mask (outside darkened) over the same with the painted one. */
async function writePreview(net: SegmentNet, faces: readonly CachedFace[], path: string): Promise<void> {
  const S = net.size;
  const rgb = rgbFloats(faces, S);
  const probs = predictSegment(net, rgb, faces.length);
  const W = S * faces.length;
  const img = new Uint8Array(W * S * 2 * 3);
  faces.forEach((f, i) => {
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++) {
        const p = y * S + x;
        const m = probs[i * S * S + p] as number;
        const painted = (f.rgba[p * 4 + 3] as number) / 255;
        for (let c = 0; c < 3; c++) {
          const v = f.rgba[p * 4 + c] as number;
          // Top row: the prediction (outside darkened); bottom row: the painted mask the same way.
          img[(y * W + i * S + x) * 3 + c] = Math.round(v * (0.3 + 0.7 * m));
          img[((y + S) * W + i * S + x) * 3 + c] = Math.round(v * (0.3 + 0.7 * painted));
        }
      }
  });
  const png = await sharp(Buffer.from(img.buffer), { raw: { width: W, height: S * 2, channels: 3 } })
    .png()
    .toBuffer();
  await writeFileAtomicSafe(path, png, { fsync: false });
}

export async function runSegmentTrain(
  o: SegmentTrainOptions,
  ctx: StageContext,
): Promise<{ model: string; iteration: number; faces: number; loss: number; seconds: number; cancelled: boolean }> {
  const size = Number(o.size);
  if (!o.input.length) throw new UserError('bad-option', 'give at least one faces folder (--input)');
  const painted: string[] = [];
  for (const dir of o.input)
    for (const f of await facesIn(dir)) {
      const m = join(dir, maskFileName(f, 'painted'));
      if (
        await stat(m).then(
          (s) => s.isFile(),
          () => false,
        )
      )
        painted.push(f);
    }
  if (!painted.length)
    throw new UserError(
      'no-faces',
      `${o.input.join(', ')}: no face has a painted mask (<face>.mask.png); paint some in the Faces view's mask editor`,
    );
  await mkdir(o.model, { recursive: true }).catch((e: unknown) => {
    throw new UserError('unwritable', `${o.model}: cannot create the model folder (${String(e)})`, o.model);
  });
  const lock = await acquireLock(lockFileFor(o.model, true), o.model, { log: (m) => ctx.log('warn', m) });
  const { tf, backend } = await loadTf({ backend: o.backend, purpose: 'train' });
  const tensors0 = tf.memory().numTensors;
  let net: SegmentNet | undefined;
  let adam: Adam | undefined;
  try {
    ctx.progress({ stage: 'segment-train', fraction: 0, title: 'Loading painted faces', total: painted.length });
    const faces: CachedFace[] = [];
    for (const f of painted) faces.push(await paintedFace(f, size));
    ctx.log('info', `${faces.length} painted faces`);
    let losses: number[] = [];
    let seconds = 0;
    if (await hasModel(o.model)) {
      const loaded = await loadSegmentModel(tf, o.model, true);
      net = loaded.net;
      adam = loaded.adam;
      if (net.size !== size) {
        throw new UserError(
          'mismatch',
          `${o.model}: a ${net.size} px segment model; train it with --size ${net.size} or use a new folder`,
          o.model,
        );
      }
      losses = loaded.state.lossA;
      seconds = loaded.state.trainSeconds;
      ctx.log('info', `resuming the segment model at iteration ${loaded.state.iteration}`);
    } else {
      net = buildSegmentNet(tf, size, 16, o.seed);
      adam = new Adam(
        tf,
        net.params.vars,
        { learningRate: o.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 },
        'device',
      );
    }
    const start = adam?.step ?? 0;
    const previewFaces = faces.slice(0, 4);
    const previewPath = join(o.model, 'preview.png');
    const meter = new RateMeter();
    let done = 0;
    const save = async (a: Adam) =>
      saveSegmentModel(o.model, net as SegmentNet, a, {
        iteration: a.step,
        losses,
        seconds,
        options: { seed: o.seed, size, batchSize: o.batchSize, learningRate: o.learningRate },
        backend,
      });
    while (done < o.iterations && !ctx.signal.aborted) {
      const chunk = Math.min(
        o.iterations - done,
        o.saveEvery - ((start + done) % o.saveEvery),
        o.previewEvery - ((start + done) % o.previewEvery),
      );
      const r = await trainSegment(
        net,
        faces,
        {
          iterations: chunk,
          batchSize: o.batchSize,
          learningRate: o.learningRate,
          seed: o.seed,
          signal: ctx.signal,
          onIteration: (it, loss) => {
            const k = it - start;
            const rate = meter.update(k, Date.now());
            ctx.progress({
              stage: 'segment-train',
              fraction: Math.min(1, k / o.iterations),
              title: 'Training segment mask',
              detail: `iteration ${it} · loss ${loss.toFixed(4)}`,
              done: k,
              total: o.iterations,
              rate,
              rateUnit: 'it/s',
              etaMs: meter.etaMs(o.iterations - k),
              metrics: { iteration: it, loss },
            });
          },
        },
        adam,
      );
      adam = r.adam;
      losses = [...losses, ...r.losses];
      seconds += r.seconds;
      done += r.losses.length;
      if (r.losses.length === 0) break;
      const step = adam.step;
      if (step % o.previewEvery === 0) {
        await writePreview(net, previewFaces, previewPath);
        ctx.preview?.({ kind: 'segment-preview', path: previewPath, iteration: step });
      }
      if (step % o.saveEvery === 0 && done < o.iterations) await save(adam);
    }
    if (!adam) throw new Error('no optimizer');
    await save(adam);
    const last = losses.slice(-10).filter(Number.isFinite);
    const result = {
      model: o.model,
      iteration: adam.step,
      faces: faces.length,
      loss: last.reduce((a, b) => a + b, 0) / Math.max(1, last.length),
      seconds,
      cancelled: ctx.signal.aborted,
    };
    ctx.progress({ stage: 'segment-train', fraction: 1, title: 'Segment model saved', done, total: o.iterations });
    return result;
  } finally {
    net?.params.dispose();
    adam?.dispose();
    const left = tf.memory().numTensors - tensors0;
    if (left > 0) ctx.log('warn', `segment-train left ${left} tensors`);
    await lock.release();
  }
}

/** The default alignments of a project's faces folder (`<project>/faces/A` -> `<project>/alignments`). */
async function projectAlignments(facesDir: string): Promise<string[]> {
  const project = dirname(dirname(facesDir));
  if (basename(dirname(facesDir)) !== 'faces') return [];
  if (
    !(await stat(join(project, 'project.json')).then(
      () => true,
      () => false,
    ))
  )
    return [];
  return alignmentsFilesIn(join(project, 'alignments'));
}

export async function runSegmentApply(
  o: SegmentApplyOptions,
  ctx: StageContext,
): Promise<{ faces: number; written: number; recorded: number; cancelled: boolean }> {
  if (!o.input.length) throw new UserError('bad-option', 'give at least one faces folder (--input)');
  const perDir = await Promise.all(o.input.map(async (d) => ({ dir: d, files: await facesIn(d) })));
  const total = perDir.reduce((a, d) => a + d.files.length, 0);
  const { tf } = await loadTf({ backend: o.backend, purpose: 'infer' });
  const tensors0 = tf.memory().numTensors;
  const { net } = await loadSegmentModel(tf, o.model);
  const S = net.size;
  const meter = new RateMeter();
  let written = 0;
  let recorded = 0;
  try {
    for (const { dir, files } of perDir) {
      const updates = new Map<string, { segment: string }>();
      for (let i = 0; i < files.length && !ctx.signal.aborted; i += 8) {
        const batch = files.slice(i, i + 8);
        const rgb = new Float32Array(batch.length * S * S * 3);
        const sizes: Array<[number, number]> = [];
        for (const [k, f] of batch.entries()) {
          const meta = await sharp(f).metadata();
          sizes.push([meta.width ?? S, meta.height ?? S]);
          const px = await rgbAt(f, S);
          for (let p = 0; p < S * S * 3; p++) rgb[k * S * S * 3 + p] = (px[p] as number) / 255;
        }
        const probs = predictSegment(net, rgb, batch.length);
        for (const [k, f] of batch.entries()) {
          const m = Uint8Array.from(probs.subarray(k * S * S, (k + 1) * S * S), (v) => Math.round(v * 255));
          const [w, h] = sizes[k] as [number, number];
          const small = await encodeMaskPng(m, S, S);
          const png =
            w === S && h === S
              ? small
              : await sharp(small)
                  .resize(w, h, { fit: 'fill', kernel: 'linear' })
                  .toColourspace('b-w')
                  .png()
                  .toBuffer();
          const name = maskFileName(f, 'segment');
          await writeMaskPng(join(dir, name), png);
          updates.set(basename(f), { segment: name });
          written++;
        }
        ctx.progress({
          stage: 'segment-apply',
          fraction: Math.min(0.99, written / Math.max(1, total)),
          title: 'Writing segment masks',
          detail: `${written} / ${total} faces`,
          done: written,
          total,
          rate: meter.update(written, Date.now()),
          rateUnit: 'faces/s',
          etaMs: meter.etaMs(total - written),
        });
      }
      const files2 = o.alignments.length
        ? (
            await Promise.all(
              o.alignments.map(async (a) =>
                (await stat(a).then(
                  (s) => s.isDirectory(),
                  () => false,
                ))
                  ? alignmentsFilesIn(a)
                  : [a],
              ),
            )
          ).flat()
        : await projectAlignments(dir);
      recorded += await recordMasks(files2, updates);
    }
  } finally {
    net.params.dispose();
    const left = tf.memory().numTensors - tensors0;
    if (left > 0) ctx.log('warn', `segment-apply left ${left} tensors`);
  }
  if (!ctx.signal.aborted)
    ctx.progress({ stage: 'segment-apply', fraction: 1, title: 'Segment masks written', done: written, total });
  return { faces: total, written, recorded, cancelled: ctx.signal.aborted };
}
