/**
 * `extract --hands` (issue 15): the hands near each face are stored in the alignments file as `masks.hands`, in
 * frame pixels. The photo is frame 0 of person A's clip with the real hand of tests/helpers/hand-composite.ts pasted
 * over the lower left of the face at a known place; without `--hands` no face has masks.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { runExtract } from '../../src-main/engine/extract/run';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { quietContext } from '../../src-main/engine/stage';
import { parseAlignments, type Alignments } from '../../src-shared/formats/alignments';
import { parseOptions } from '../../src-shared/options';
import { extractOptions } from '../../src-shared/stages/extract';
import { composite, countCut, cutHand } from '../helpers/hand-composite';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';

let dir = '';
let photo = '';
let handAlpha: Uint8Array;
beforeAll(async () => {
  if (!hasTestdata) return;
  dir = await scratchDir('extract-hands');
  for await (const f of decodeFrames(videos.personA, { start: 0, end: 1 })) {
    // The face of this frame spans about x 150..330, y 150..390: the hand goes over its lower left.
    const c = composite({ width: f.width, height: f.height, data: f.data }, await cutHand(), {
      cx: 200,
      cy: 340,
      scale: 200 / 240,
      angle: 15,
    });
    handAlpha = c.alpha;
    photo = join(dir, 'hand-over-face.png');
    await sharp(c.image.data, { raw: { width: f.width, height: f.height, channels: 3 } })
      .png()
      .toFile(photo);
  }
}, 60_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function extract(hands: boolean, name: string): Promise<Alignments> {
  const alignments = join(dir, `${name}.alignments.json`);
  await runExtract(
    parseOptions(extractOptions, {
      input: photo,
      output: join(dir, name),
      alignments,
      hands,
    }),
    quietContext(),
  );
  return parseAlignments(JSON.parse(await readFile(alignments, 'utf8')), alignments);
}

describe.skipIf(!hasTestdata)('extract --hands', () => {
  it('stores the hands near each face as polygons in frame pixels; none without the option', async () => {
    const withHands = await extract(true, 'with');
    const faces = Object.values(withHands.frames).flatMap((f) => f.faces);
    expect(faces).toHaveLength(1);
    const hands = faces[0]!.masks?.hands ?? [];
    expect(hands.length).toBeGreaterThan(0);
    // Most of the stored polygons' area is the pasted hand (480x480 frame), and they hold most of the hand.
    const n = countCut(hands, handAlpha, 480, 480);
    console.log(
      `${hands.length} polygons; ${((100 * n.handCut) / n.cut).toFixed(1)}% of their area is hand, ${((100 * n.handCut) / n.hand).toFixed(1)}% of the hand is inside them`,
    );
    expect(n.handCut / n.cut).toBeGreaterThan(0.6);
    expect(n.handCut / n.hand).toBeGreaterThan(0.9);
    const without = await extract(false, 'without');
    expect(Object.values(without.frames).flatMap((f) => f.faces.map((x) => x.masks))).toEqual(
      Object.values(without.frames).flatMap((f) => f.faces.map(() => undefined)),
    );
  }, 240_000);
});
