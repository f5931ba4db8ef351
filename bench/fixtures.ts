/**
 * Inputs the convert benches share (none of it timed): a clip cut from a test video, the faces extracted from a
 * clip, and a lightweight model trained for 1 iteration (the speed of a model does not depend on its training).
 * Engine modules are imported lazily, as in the benches, so `npm run bench -- <filter>` loads only what it runs.
 */
import { join } from 'node:path';

/** The first `frames` frames of `from` as an H.264 video `to` (crf 18, veryfast), scaled to `scale` when given. */
export async function cutClip(from: string, to: string, frames: number, scale?: [number, number]): Promise<void> {
  const { decodeFrames } = await import('../src-main/engine/media/decode');
  const { createVideoWriter } = await import('../src-main/engine/media/encode');
  const { probeVideo } = await import('../src-main/engine/media/probe');
  const sharp = (await import('sharp')).default;
  const info = await probeVideo(from);
  const [w, h] = scale ?? [info.width, info.height];
  const out = await createVideoWriter({
    path: to,
    width: w,
    height: h,
    fps: info.fpsRational,
    crf: 18,
    preset: 'veryfast',
  });
  for await (const f of decodeFrames(from, { end: frames })) {
    const data = scale
      ? await sharp(f.data, { raw: { width: f.width, height: f.height, channels: 3 } })
          .resize(w, h)
          .raw()
          .toBuffer()
      : f.data;
    await out.write(data);
  }
  await out.close();
}

/** `from`'s frames `times` times over, one after the other, into `to` (a longer clip of the same content). */
export async function loopClip(from: string, to: string, times: number): Promise<void> {
  const { decodeFrames } = await import('../src-main/engine/media/decode');
  const { createVideoWriter } = await import('../src-main/engine/media/encode');
  const { probeVideo } = await import('../src-main/engine/media/probe');
  const info = await probeVideo(from);
  const out = await createVideoWriter({
    path: to,
    width: info.width,
    height: info.height,
    fps: info.fpsRational,
    crf: 18,
    preset: 'veryfast',
  });
  for (let k = 0; k < times; k++) for await (const f of decodeFrames(from)) await out.write(f.data);
  await out.close();
}

/** Extracts the faces of `input` into `output` at the defaults (its alignments beside `input`). */
export async function extractFaces(input: string, output: string): Promise<void> {
  const { runExtract } = await import('../src-main/engine/extract/run');
  const { parseOptions } = await import('../src-shared/options');
  const { extractStage } = await import('../src-shared/stages/extract');
  const { quietContext } = await import('../src-main/engine/stage');
  await runExtract(parseOptions(extractStage.options, { input, output }), quietContext());
}

/** A lightweight model in `<dir>/model` trained for 1 iteration on the faces in `facesA` and `facesB`; its folder. */
export async function quickModel(dir: string, facesA: string, facesB: string): Promise<string> {
  const { runTrain } = await import('../src-main/engine/train/run');
  const { parseOptions } = await import('../src-shared/options');
  const { trainStage } = await import('../src-shared/stages/train');
  const { quietContext } = await import('../src-main/engine/stage');
  const model = join(dir, 'model');
  await runTrain(
    parseOptions(trainStage.options, {
      inputA: facesA,
      inputB: facesB,
      modelDir: model,
      trainer: 'lightweight',
      iterations: 1,
      previewEvery: 0,
      // Seeded: an unseeded 1-iteration model sometimes swaps in a face the quality report cannot find, and
      // convert.480p then fails ("no frame with a face in both videos"; 1 of 2 rounds of a --runs 2 run).
      seed: 1,
    }),
    quietContext(),
  );
  return model;
}
