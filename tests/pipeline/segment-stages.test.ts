/**
 * The segment stages end to end on real faces (8 faces of personA's clip, every 30th frame; 6 of them painted
 * from the outline fixture of tests/fixtures/segment/):
 * - segment-train trains on the painted faces only, reports progress and a preview, saves the model (atomic
 *   save), resumes it in a second run, and a run stopped at once keeps it; a folder without any painted face is a
 *   one-line error; every result fits its stage's result schema;
 * - segment-apply writes `<face>.segment.png` (single channel, the face's size) for all 8 faces and lists each in
 *   the alignments file (`masks.segment`);
 * - the trainer's data loader (the masked loss's mask) takes a face's painted mask first, else its segment mask;
 * - no tensor is left behind.
 * Tiny settings (64 px, a few iterations): this proves the plumbing; segment-model.test.ts proves the learning.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlignments } from '../../src-shared/formats/alignments';
import { parseOptions } from '../../src-shared/options';
import type { PreviewEvent, Progress } from '../../src-shared/progress';
import { extractStage } from '../../src-shared/stages/extract';
import { segmentApplyStage, segmentTrainStage } from '../../src-shared/stages/segment';
import { rasterPolygon, type Pt } from '../../src-main/engine/mask/polygon';
import { runSegmentApply, runSegmentTrain } from '../../src-main/engine/mask/segment-run';
import { quietContext } from '../../src-main/engine/stage';
import { loadTf } from '../../src-main/engine/tf/backend';
import { listFaces, loadFaces } from '../../src-main/engine/train/data';
import { hasTestdata, repoRoot, scratchDir, td } from '../helpers/testdata';

let dir = '';
let alignments = '';
let painted: string[] = [];
let faces: string[] = [];

beforeAll(async () => {
  if (!hasTestdata) return;
  dir = await scratchDir('segment-stages');
  const fixture = JSON.parse(
    await readFile(join(repoRoot, 'tests', 'fixtures', 'segment', 'personA-outlines.json'), 'utf8'),
  ) as { video: string; frames: Record<string, Pt[]> };
  alignments = join(dir, 'A.alignments.json');
  const { runExtract } = await import('../../src-main/engine/extract/run');
  await runExtract(
    parseOptions(extractStage.options, { input: td(fixture.video), output: join(dir, 'A'), everyN: 30, alignments }),
    quietContext(),
  );
  const doc = parseAlignments(JSON.parse(await readFile(alignments, 'utf8')), alignments);
  const size = doc.settings.size;
  for (const [key, frame] of Object.entries(doc.frames)) {
    const face = frame.faces[0];
    if (!face?.file) continue;
    faces.push(face.file);
    const poly = fixture.frames[key];
    if (!poly || painted.length >= 6) continue;
    const [[a, b, c], [d, e, f]] = face.matrix;
    const plane = rasterPolygon(
      poly.map(([x, y]) => [a * x + b * y + c + 0.5, d * x + e * y + f + 0.5] as const),
      size,
      size,
    );
    const png = await sharp(Buffer.from(Uint8Array.from(plane, (v) => Math.round(v * 255))), {
      raw: { width: size, height: size, channels: 1 },
    })
      .toColourspace('b-w')
      .png()
      .toBuffer();
    await writeFile(join(dir, 'A', face.file.replace(/\.png$/, '.mask.png')), png);
    painted.push(face.file);
  }
  faces = faces.sort();
  painted = painted.sort();
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTestdata)('segment-train and segment-apply stages', () => {
  it('trains on the painted faces, previews, saves, resumes; applies to every face and lists the masks', async () => {
    expect(faces.length).toBe(8);
    expect(painted.length).toBe(6);
    const { tf } = await loadTf({ backend: 'wasm' });
    const tensors0 = tf.memory().numTensors;
    const model = join(dir, 'segment');
    const events: Progress[] = [];
    const previews: PreviewEvent[] = [];
    const ctx = {
      ...quietContext(),
      progress: (p: Progress) => events.push(p),
      preview: (p: PreviewEvent) => previews.push(p),
    };
    const train = (iterations: number) =>
      runSegmentTrain(
        parseOptions(segmentTrainStage.options, {
          input: [join(dir, 'A')],
          model,
          size: '64',
          iterations,
          batchSize: 4,
          saveEvery: 3,
          previewEvery: 3,
          backend: 'wasm',
        }),
        ctx,
      );
    const first = await train(6);
    expect(first).toMatchObject({ model, iteration: 6, faces: 6, cancelled: false });
    expect(Number.isFinite(first.loss)).toBe(true);
    expect(events.filter((e) => e.metrics?.iteration !== undefined).length).toBe(6);
    expect(events.at(-1)?.fraction).toBe(1);
    expect(previews.map((p) => p.iteration)).toEqual([3, 6]);
    expect((await sharp(join(model, 'preview.png')).metadata()).height).toBe(128);
    const second = await train(2);
    expect(second.iteration).toBe(8);
    // Stopped before its first step: the model is saved as it was, the result says so and fits the stage's schema.
    const ac = new AbortController();
    ac.abort();
    const stopped = await runSegmentTrain(
      parseOptions(segmentTrainStage.options, { input: [join(dir, 'A')], model, size: '64', backend: 'wasm' }),
      quietContext(ac.signal),
    );
    expect(stopped).toMatchObject({ iteration: 8, cancelled: true });
    for (const r of [first, second, stopped]) expect(segmentTrainStage.result.safeParse(r).success).toBe(true);
    const state = JSON.parse(await readFile(join(model, 'state.json'), 'utf8')) as { trainer: string; lossA: number[] };
    expect(state.trainer).toBe('segment');
    expect(state.lossA.length).toBe(8);

    const applied = await runSegmentApply(
      parseOptions(segmentApplyStage.options, {
        input: [join(dir, 'A')],
        model,
        alignments: [alignments],
        backend: 'wasm',
      }),
      quietContext(),
    );
    expect(applied).toEqual({ faces: 8, written: 8, recorded: 8, cancelled: false });
    expect(segmentApplyStage.result.safeParse(applied).success).toBe(true);
    for (const f of faces) {
      const meta = await sharp(join(dir, 'A', f.replace(/\.png$/, '.segment.png'))).metadata();
      expect([meta.width, meta.height, meta.channels]).toEqual([256, 256, 1]);
    }
    const doc = parseAlignments(JSON.parse(await readFile(alignments, 'utf8')), alignments);
    const listed = Object.values(doc.frames)
      .flatMap((fr) => fr.faces)
      .filter((fc) => fc.masks?.segment === fc.file?.replace(/\.png$/, '.segment.png'));
    expect(listed.length).toBe(8);

    // The trainer's masks: the painted one where there is one, else the segment one; mask files are not faces.
    const files = await listFaces(join(dir, 'A'));
    expect(files.length).toBe(8);
    const cached = await loadFaces(files, 64);
    for (const [i, file] of files.entries()) {
      const name = file.split('/').pop() as string;
      const kind = painted.includes(name) ? '.mask.png' : '.segment.png';
      const want = await sharp(join(dir, 'A', name.replace(/\.png$/, kind)))
        .extractChannel(0)
        .resize(64, 64, { fit: 'fill', kernel: 'linear' })
        .raw()
        .toBuffer();
      const alpha = Uint8Array.from({ length: 64 * 64 }, (_, p) => cached[i]?.rgba[p * 4 + 3] as number);
      expect(Buffer.from(alpha).equals(want)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(tensors0);
  }, 600_000);

  it('a folder without painted faces is a one-line error', async () => {
    const empty = await scratchDir('segment-none');
    try {
      await expect(
        runSegmentTrain(
          parseOptions(segmentTrainStage.options, { input: [empty], model: join(empty, 'm'), backend: 'wasm' }),
          quietContext(),
        ),
      ).rejects.toThrow(/^[^\n]*no face has a painted mask[^\n]*$/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
