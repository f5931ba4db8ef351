/**
 * The quality report after a conversion is a report on the model, never a reason to fail the conversion: a model
 * trained for a few minutes paints faces the detector does not know, and the report then finds no frame with a
 * face in both videos. The converted video stays, with a warning that says why there is no report. Real footage
 * (the first 24 frames of person A); the "model" paints every face flat grey.
 */
import { access, cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../src-shared/options';
import { convertOptions } from '../../src-shared/stages/convert';
import { runConvert } from '../../src-main/engine/convert/run';
import { syntheticSwapper, type FaceSwapper } from '../../src-main/engine/convert/swapper';
import { recordingContext } from '../../src-main/engine/stage';
import { cutClip } from '../helpers/clips';
import { extractInThread } from '../helpers/extract';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';

let dir = '';
let input = '';
let facesDir = '';

beforeAll(async () => {
  if (!hasTestdata) return;
  dir = await scratchDir('convert-report');
  process.env.FSS_CONFIG_DIR = join(dir, 'config');
  input = join(dir, 'personA-24.mp4');
  await cutClip(videos.personA, input, 24);
  facesDir = join(dir, 'faces');
  await extractInThread({ input, output: facesDir });
  // The training faces the report compares with: the model's state names them.
  await cp(facesDir, join(dir, 'facesB'), { recursive: true });
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A "model" that paints every face flat grey, with the state a trained model's folder gives convert. */
function greyModel(): FaceSwapper & { state: Record<string, unknown> } {
  return {
    ...syntheticSwapper({ kind: 'identity', coverage: 1 }),
    trainer: 'grey',
    swap: (faces) => Promise.resolve({ faces: new Float32Array(faces.length).fill(0.5) }),
    state: {
      trainer: 'grey',
      iteration: 1,
      options: { inputA: facesDir, inputB: join(dir, 'facesB') },
      files: { weightsSha256: '0'.repeat(64) },
    },
  };
}

describe.skipIf(!hasTestdata)('convert: the quality report', () => {
  it(
    'finds no swapped face: the video is kept, a one-line warning instead of a report',
    { timeout: 300_000 },
    async () => {
      const output = join(dir, 'out.mp4');
      const ctx = recordingContext();
      const r = await runConvert(
        parseOptions(convertOptions, { input, output, model: join(dir, 'no-model'), color: 'none', label: false }),
        ctx,
        { swapper: greyModel() },
      );
      expect(r.frames).toBe(24);
      expect(r.faces).toBeGreaterThan(0);
      await access(output);
      expect(r.quality).toBeUndefined();
      const warning = ctx.logs.find(([level, m]) => level === 'warn' && m.startsWith('no quality report'));
      expect(warning?.[1]).toMatch(/no frame with a face in both videos .*train the model longer/);
      expect(warning?.[1].split('\n')).toHaveLength(1);
      await expect(access(`${output}.quality.json`)).rejects.toThrow();
    },
  );
});
