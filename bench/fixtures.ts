/**
 * Inputs the convert benches share (none of it timed): the faces extracted from a clip, and a lightweight model
 * trained for 1 iteration (the speed of a model does not depend on its training). Clips: tests/helpers/clips.ts.
 * Engine modules are imported lazily, as in the benches, so `npm run bench -- <filter>` loads only what it runs.
 */
import { join } from 'node:path';

/** Extracts the faces of `input` into `output` at the defaults (its alignments beside `input`). */
export async function extractFaces(input: string, output: string): Promise<void> {
  const { runExtract } = await import('../src-main/engine/extract/run');
  const { parseOptions } = await import('../src-shared/options');
  const { extractStage } = await import('../src-shared/stages/extract');
  const { quietContext } = await import('../src-main/engine/stage');
  await runExtract(parseOptions(extractStage.options, { input, output }), quietContext());
}

/**
 * A model (default `lightweight`, in `<dir>/model`; another trainer in `<dir>/model-<trainer>`) trained for 1
 * iteration on the faces in `facesA` and `facesB`; its folder.
 */
export async function quickModel(
  dir: string,
  facesA: string,
  facesB: string,
  trainer = 'lightweight',
): Promise<string> {
  const { runTrain } = await import('../src-main/engine/train/run');
  const { parseOptions } = await import('../src-shared/options');
  const { trainStage } = await import('../src-shared/stages/train');
  const { quietContext } = await import('../src-main/engine/stage');
  const model = join(dir, trainer === 'lightweight' ? 'model' : `model-${trainer}`);
  await runTrain(
    parseOptions(trainStage.options, {
      inputA: facesA,
      inputB: facesB,
      modelDir: model,
      trainer,
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
