/**
 * `faces:mask:save` (services/face-masks.ts) refuses what is not a painted mask of a face of the open project,
 * with one line and nothing written: a name that is a path (the IPC schema), a name that is not a face of the
 * identity, a mask file named as a face, bytes that are not a PNG, a PNG of another size. A good one is written
 * as a single-channel `<face>.mask.png` (the alpha of an RGBA canvas export) and listed in the alignments file's
 * `masks.painted`.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALIGNMENTS_FORMAT, ALIGNMENTS_VERSION, parseAlignments } from '../../src-shared/formats/alignments';
import { validateRequest } from '../../src-shared/ipc';
import { saveFaceMask } from '../../src-main/services/face-masks';

let project = '';
const face = 'clip_000000_0.png';
const faces = () => join(project, 'faces', 'A');
const alignments = () => join(project, 'alignments', 'clip.mp4.alignments.json');
/** An RGBA PNG (as a canvas exports it) whose left half is transparent and right half opaque, in base64. */
const png = async (w: number, h: number) => {
  const rgba = Buffer.alloc(w * h * 4, 255);
  for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) rgba[(y * w + x) * 4 + 3] = 0;
  return (
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
      .png()
      .toBuffer()
  ).toString('base64');
};

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'fss-mask-save-'));
  await mkdir(faces(), { recursive: true });
  await mkdir(join(project, 'alignments'));
  await writeFile(
    join(faces(), face),
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } })
      .png()
      .toBuffer(),
  );
  const lm = Array.from({ length: 68 }, (_, i) => [10 + (i % 17) * 2, 10 + Math.floor(i / 17) * 5]);
  const doc = {
    format: ALIGNMENTS_FORMAT,
    version: ALIGNMENTS_VERSION,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    generator: { app: 'test', detector: 'test', landmarks: 'test' },
    source: {
      kind: 'video',
      path: '/x/clip.mp4',
      width: 64,
      height: 64,
      fps: 25,
      frameCount: 1,
      sha256: 'a'.repeat(64),
    },
    settings: { size: 64, centering: 'face', everyN: 1, smooth: false, alignEyes: true },
    complete: true,
    frames: {
      '0': {
        faces: [
          {
            box: [10, 10, 40, 40],
            score: 1,
            landmarks68: lm,
            matrix: [
              [1, 0, 0],
              [0, 1, 0],
            ],
            file: face,
          },
        ],
      },
    },
  };
  await writeFile(alignments(), JSON.stringify(doc));
});

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

describe('faces:mask:save', () => {
  it('the IPC schema refuses a path for a name and a non-base64 PNG', () => {
    const ok = { side: 'A', name: face, png: 'iVBORw0KGgo=' };
    expect(validateRequest('faces:mask:save', ok).ok).toBe(true);
    for (const bad of [
      { ...ok, name: '../B/x.png' },
      { ...ok, name: '/etc/passwd' },
      { ...ok, png: 'not base64!' },
      { ...ok, side: 'C' },
      { ...ok, extra: 1 },
    ])
      expect(validateRequest('faces:mask:save', bad)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
  });

  it('refuses what is not a mask of a face of the project, with one line and nothing written', async () => {
    const before = (await readdir(faces())).sort();
    const cases: Array<[string, string, RegExp]> = [
      ['other_000001_0.png', await png(64, 64), /^other_000001_0\.png: not a face of A/],
      ['clip_000000_0.mask.png', await png(64, 64), /not a face of A/],
      [face, Buffer.from('hello, not a png').toString('base64'), /the mask is not a PNG$/],
      [face, await png(32, 32), /the mask is 32x32, the face is 64x64$/],
    ];
    for (const [name, data, message] of cases) {
      const err = await saveFaceMask(project, 'A', name, data).catch((e: Error) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('\n');
    }
    expect((await readdir(faces())).sort()).toEqual(before);
    expect(
      parseAlignments(JSON.parse(await readFile(alignments(), 'utf8')), 'a').frames['0']?.faces[0]?.masks,
    ).toBeUndefined();
  });

  it('writes a single-channel <face>.mask.png from the alpha and lists it in the alignments', async () => {
    const r = await saveFaceMask(project, 'A', face, await png(64, 64));
    expect(r).toEqual({ side: 'A', name: face, file: join(faces(), 'clip_000000_0.mask.png'), recorded: true });
    const meta = await sharp(r.file).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([64, 64, 1]);
    const px = await sharp(r.file).extractChannel(0).raw().toBuffer();
    expect([px[5 * 64 + 5], px[5 * 64 + 60]]).toEqual([0, 255]); // left half transparent, right half opaque
    const doc = parseAlignments(JSON.parse(await readFile(alignments(), 'utf8')), 'a');
    expect(doc.frames['0']?.faces[0]?.masks).toEqual({ painted: 'clip_000000_0.mask.png' });
  });
});
