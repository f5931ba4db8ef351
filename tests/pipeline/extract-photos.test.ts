/**
 * Extract on photos, measured against the test data: 300-W human landmarks (NME), dlib_pascal boxes and
 * pseudo-landmarks (recall, NME on the images held out of the landmark mapping's fit), and the faces/ set (no face
 * on noface_*, counts of MANIFEST.md, rotated photo, the non-human check and its `keepNonHuman` option).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { hasTestdata, scratchDir, td } from '../helpers/testdata';
import { runExtract } from '../../src-main/engine/extract/run';
import { loadFaceModels } from '../../src-main/engine/face/human';
import { quietContext } from '../../src-main/engine/stage';
import { parseOptions } from '../../src-shared/options';
import { extractOptions } from '../../src-shared/stages/extract';
import { parseAlignments, type Alignments } from '../../src-shared/formats/alignments';
import { readPngText } from '../../src-main/engine/face/png-text';
import { transformPoints } from '../../src-main/engine/face/umeyama';
import { parseFacePngMeta } from '../../src-shared/formats/face-png';

type P = [number, number];
interface GtFile {
  images: Array<{
    file: string;
    faces: Array<{ bbox_xywh: [number, number, number, number]; landmarks: P[]; split?: string }>;
  }>;
}

const nme = (a: readonly P[], g: readonly P[]) => {
  const d = Math.hypot(g[36]![0] - g[45]![0], g[36]![1] - g[45]![1]);
  return a.reduce((s, p, i) => s + Math.hypot(p[0] - g[i]![0], p[1] - g[i]![1]), 0) / 68 / d;
};
function iou(a: readonly number[], b: readonly number[]): number {
  const x0 = Math.max(a[0]!, b[0]!),
    y0 = Math.max(a[1]!, b[1]!);
  const x1 = Math.min(a[0]! + a[2]!, b[0]! + b[2]!),
    y1 = Math.min(a[1]! + a[3]!, b[1]! + b[3]!);
  const i = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  return i / (a[2]! * a[3]! + b[2]! * b[3]! - i);
}

async function extract(input: string, dir: string, extra: Record<string, unknown> = {}): Promise<Alignments> {
  const a = join(dir, 'alignments.json');
  await runExtract(
    parseOptions(extractOptions, { input, output: join(dir, 'faces'), alignments: a, ...extra }),
    quietContext(),
  );
  return parseAlignments(JSON.parse(await readFile(a, 'utf8')), a);
}

/** Matches ground-truth faces to extracted ones by box IoU > 0.3. */
async function score(set: string, dir: string) {
  const gt = JSON.parse(await readFile(td('landmarks', set, `${set}_landmarks.json`), 'utf8')) as GtFile;
  const al = await extract(td('landmarks', set), dir);
  const rows: Array<{ file: string; split?: string; size: number; found: boolean; nme?: number; conf?: number[] }> = [];
  for (const im of gt.images) {
    const faces = al.frames[im.file]?.faces ?? [];
    for (const g of im.faces) {
      let best: (typeof faces)[number] | undefined,
        bi = 0.3;
      for (const f of faces) {
        const v = iou(f.box, g.bbox_xywh);
        if (v > bi) {
          bi = v;
          best = f;
        }
      }
      rows.push({
        file: im.file,
        ...(g.split ? { split: g.split } : {}),
        size: Math.max(g.bbox_xywh[2], g.bbox_xywh[3]),
        found: !!best,
        ...(best ? { nme: nme(best.landmarks68 as P[], g.landmarks), conf: best.landmarkConfidence } : {}),
      });
    }
  }
  return rows;
}

describe.skipIf(!hasTestdata)('extract on photos', () => {
  let dir = '';
  let tensorsAtStart = 0;
  beforeAll(async () => {
    dir = await scratchDir('extract-photos');
    await loadFaceModels();
    tensorsAtStart = tf.memory().numTensors;
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('300-W (human ground truth): NME <= 0.05 on average, <= 0.08 on each face, per-point confidence', async () => {
    const rows = await score('300w', join(dir, '300w'));
    const mean = rows.reduce((s, r) => s + (r.nme ?? 1), 0) / rows.length;
    console.log(
      JSON.stringify({
        metric: '300w_nme',
        mean: +mean.toFixed(4),
        faces: rows.map((r) => ({ file: r.file, nme: r.nme && +r.nme.toFixed(4) })),
      }),
    );
    expect(rows.length).toBe(2);
    for (const r of rows) {
      expect(r.found).toBe(true);
      expect(r.nme!).toBeLessThanOrEqual(0.08);
      // the mirrored pass runs on photos by default: 68 confidences in 0..1, not all alike
      expect(r.conf).toHaveLength(68);
      expect(Math.min(...r.conf!)).toBeLessThan(Math.max(...r.conf!));
    }
    expect(mean).toBeLessThanOrEqual(0.05);
  });

  it('dlib_pascal: recall >= 85% of the faces of 60 px and up; held-out NME <= 0.05 mean, <= 0.08 each', async () => {
    const rows = await score('dlib_pascal', join(dir, 'dlib'));
    const big = rows.filter((r) => r.size >= 60);
    // The mapping weights were fitted on the "train" images only (scripts/fit-ibug68.ts): NME on the rest.
    const nmes = rows
      .filter((r) => r.nme !== undefined && r.split === 'test')
      .map((r) => r.nme!)
      .sort((a, b) => a - b);
    const out = {
      metric: 'dlib_pascal',
      annotated: rows.length,
      recallAll: +(rows.filter((r) => r.found).length / rows.length).toFixed(4),
      annotated60: big.length,
      recall60: +(big.filter((r) => r.found).length / big.length).toFixed(4),
      heldOut: nmes.length,
      nmeMean: +(nmes.reduce((s, v) => s + v, 0) / nmes.length).toFixed(4),
      nmeMedian: +nmes[nmes.length >> 1]!.toFixed(4),
      nmeMax: +nmes[nmes.length - 1]!.toFixed(4),
    };
    console.log(JSON.stringify(out));
    expect(out.recall60).toBeGreaterThanOrEqual(0.85);
    expect(out.heldOut).toBeGreaterThanOrEqual(20);
    expect(out.nmeMean).toBeLessThanOrEqual(0.05);
    expect(out.nmeMax).toBeLessThanOrEqual(0.08);
  });

  it('faces/: none on noface_*, counts of MANIFEST.md, the rotated photo with --rotate-images', async () => {
    // Face counts of MANIFEST.md (visual inspection); partial faces count as one.
    const expected: Record<string, number> = {
      'single_tom-cruise_dlib.jpg': 1,
      'multi2_obama-biden_fr-two_people.jpg': 2,
      'multi2_rose-kit_fr-kit_with_rose.jpg': 2,
      'multi3_biden-obama-child_fr.jpg': 3,
      'multi6_friends-cast_insightface-t1.jpg': 6,
      'multiMany_collage_dlib-bald_guys.jpg': 27,
    };
    const al = await extract(td('faces'), join(dir, 'faces'), { rotateImages: true });
    const names = (await readdir(td('faces'))).sort();
    const counts = Object.fromEntries(names.map((n) => [n, al.frames[n]?.faces.length ?? -1]));
    let exp = 0,
      hit = 0,
      fp = 0;
    for (const [n, e] of Object.entries(expected)) {
      const c = counts[n]!;
      exp += e;
      hit += Math.min(c, e);
      fp += Math.max(0, c - e);
    }
    console.log(
      JSON.stringify({
        metric: 'faces',
        counts,
        singleMultiRecall: +(hit / exp).toFixed(4),
        singleMultiFalsePositives: fp,
      }),
    );
    for (const n of names.filter((x) => x.startsWith('noface_'))) expect(counts[n], n).toBe(0);
    for (const n of names.filter((x) => /^(pose|occl|edge|single)_/.test(x))) expect(counts[n], n).toBe(1);
    // recall before the human check of issue 17 (38 of 41), kept as the floor
    expect(hit / exp).toBeGreaterThanOrEqual(38 / 41);
    expect(fp).toBe(0);
    // Left to right, each written with its PNG text chunk.
    const multi = al.frames['multi6_friends-cast_insightface-t1.jpg']!.faces;
    for (let i = 1; i < multi.length; i++)
      expect(multi[i]!.box[0] + multi[i]!.box[2] / 2).toBeGreaterThan(multi[i - 1]!.box[0] + multi[i - 1]!.box[2] / 2);
    expect(multi[2]!.file).toBe('multi6_friends-cast_insightface-t1_2.png');
    const meta = JSON.parse(
      readPngText(await readFile(join(dir, 'faces', 'faces', multi[2]!.file!)))['faceswap-studio:face']!,
    );
    expect(meta).toMatchObject({
      source: 'faces',
      frame: 'multi6_friends-cast_insightface-t1.jpg',
      face: 2,
      size: 256,
    });
    expect(meta.matrix).toEqual(multi[2]!.matrix);
    // The landmarks in crop pixels (the masked trainer's mask target): the alignments' landmarks through the matrix.
    const parsed = parseFacePngMeta(JSON.stringify(meta))!;
    const inCrop = transformPoints(multi[2]!.matrix, multi[2]!.landmarks68);
    parsed.landmarks!.forEach((p, i) => {
      expect(p[0]).toBeCloseTo(inCrop[i]![0], 1);
      expect(p[1]).toBeCloseTo(inCrop[i]![1], 1);
    });
  });

  it('the dog faces are refused as non-human, and kept with keepNonHuman', async () => {
    const photo = 'noface_animal-faces_dlib-dogs.jpg';
    const kept = await extract(td('faces', photo), join(dir, 'dogs'), { keepNonHuman: true });
    console.log(JSON.stringify({ metric: 'keep_non_human', photo, faces: kept.frames[photo]!.faces.length }));
    // the default run finds none (test above): the human check, not the detector, is what leaves them out
    expect(kept.frames[photo]!.faces.length).toBeGreaterThanOrEqual(1);
  });

  it('the 90-degree rotated photo alone, with --rotate-images', async () => {
    const al = await extract(td('faces', 'pose_rotated90_insightface.jpg'), join(dir, 'rot'), { rotateImages: true });
    const f = al.frames['pose_rotated90_insightface.jpg']!;
    expect(f.faces.length).toBe(1);
    // the aligned face is upright: the eyes are above the mouth in the crop
    const m = f.faces[0]!.matrix;
    const y = (p: readonly number[]) => m[1][0] * p[0]! + m[1][1] * p[1]! + m[1][2];
    expect(y(f.faces[0]!.landmarks68[36]!)).toBeLessThan(y(f.faces[0]!.landmarks68[57]!));
    console.log(JSON.stringify({ metric: 'rotated90', rotated: f.rotated ?? 0, pose: f.faces[0]!.pose }));
  });

  it('leaves tf.memory().numTensors where it started', () => {
    expect(tf.memory().numTensors).toBe(tensorsAtStart);
  });
});
