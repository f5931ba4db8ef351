import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import {
  fileNameFor,
  imageFacts,
  listImages,
  naturalCompare,
  readImage,
  writeImageSequence,
  type SequenceFrame,
} from '../../src-main/engine/media/images';
import { openSource } from '../../src-main/engine/media/source';
import { hasTestdata, scratchDir, td } from '../helpers/testdata';
import { expectUserError } from '../helpers/user-error';

let dir: string;
beforeAll(async () => {
  dir = await scratchDir('media-images');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A solid-colour RGB PNG. */
function png(w: number, h: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
}

describe('natural order', () => {
  it('sorts numbers by value', () => {
    const names = ['frame10.png', 'frame9.png', 'frame1.png', 'Frame2.png', 'frame100.png', 'frame09b.png'];
    expect([...names].sort(naturalCompare)).toEqual([
      'frame1.png',
      'Frame2.png',
      'frame9.png',
      'frame09b.png',
      'frame10.png',
      'frame100.png',
    ]);
  });

  it('lists only visible image files of a folder, in natural order', async () => {
    const f = join(dir, 'list');
    await mkdir(join(f, 'sub.png'), { recursive: true });
    const one = await png(4, 4, [10, 20, 30]);
    for (const i of [1, 2, 3, 9, 10, 11, 100]) await writeFile(join(f, `frame${i}.png`), one);
    await writeFile(join(f, 'x.JPG'), await sharp(one).jpeg().toBuffer());
    await writeFile(join(f, '.hidden.png'), one);
    await writeFile(join(f, '._frame3.png'), 'AppleDouble');
    await writeFile(join(f, 'notes.txt'), 'hi');
    const files = await listImages(f);
    expect(files.map((p) => p.slice(f.length + 1))).toEqual([
      'frame1.png',
      'frame2.png',
      'frame3.png',
      'frame9.png',
      'frame10.png',
      'frame11.png',
      'frame100.png',
      'x.JPG',
    ]);
  });

  it('a folder without images is a no-images error naming it', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty, { recursive: true });
    await writeFile(join(empty, 'readme.txt'), 'no images here');
    await expectUserError(listImages(empty), 'no-images', empty);
    await expectUserError(openSource(empty), 'no-images', empty);
    await expectUserError(listImages(join(dir, 'missing')), 'not-found', join(dir, 'missing'));
  });
});

describe('readImage', () => {
  it('applies the EXIF orientation (6: rotate 90 degrees clockwise)', async () => {
    // Stored 40x20: left half red, right half blue. Displayed after orientation 6: 20x40, red on top.
    const raw = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++)
      for (let x = 0; x < 40; x++) {
        const o = (y * 40 + x) * 3;
        if (x < 20) raw[o] = 255;
        else raw[o + 2] = 255;
      }
    const file = join(dir, 'oriented.jpg');
    await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toFile(file);
    expect((await sharp(file).metadata()).orientation).toBe(6);
    const facts = await imageFacts(file);
    expect([facts.width, facts.height, facts.orientation]).toEqual([20, 40, 6]);
    const img = await readImage(file);
    expect([img.width, img.height]).toEqual([20, 40]);
    expect(img.alpha).toBeUndefined();
    const px = (x: number, y: number) => [...img.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3)];
    const top = px(10, 5);
    const bottom = px(10, 34);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
  });

  it('returns RGB and the alpha channel apart', async () => {
    const w = 16;
    const h = 8;
    const rgba = Buffer.alloc(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([i % 256, 100, 200, (i * 7) % 256], i * 4);
    const file = join(dir, 'alpha.png');
    await sharp(rgba, { raw: { width: w, height: h, channels: 4 } })
      .png()
      .toFile(file);
    const img = await readImage(file);
    expect(img.alpha).toBeDefined();
    expect(img.data.length).toBe(w * h * 3);
    for (let i = 0; i < w * h; i++) {
      expect(img.alpha?.[i]).toBe((i * 7) % 256);
      expect([...img.data.subarray(i * 3, i * 3 + 3)]).toEqual([i % 256, 100, 200]);
    }
  });

  it.skipIf(!hasTestdata)('reads a real RGBA PNG with its alpha', async () => {
    const img = await readImage(td('faces', 'edge_rgba-32bit_fr.png'));
    expect([img.width, img.height]).toEqual([626, 1200]);
    expect(img.alpha?.length).toBe(626 * 1200);
  });

  it('converts greyscale and 16-bit images to 8-bit RGB', async () => {
    const grey = join(dir, 'grey.png');
    await sharp(Buffer.from([0, 64, 128, 255]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toFile(grey);
    const g = await readImage(grey);
    expect([...g.data]).toEqual([0, 0, 0, 64, 64, 64, 128, 128, 128, 255, 255, 255]);
    const deep = join(dir, 'deep.png');
    await sharp(Buffer.from([0, 64, 128, 255, 10, 20, 30, 40, 50, 60, 70, 80]), {
      raw: { width: 2, height: 2, channels: 3 },
    })
      .toColourspace('rgb16')
      .png()
      .toFile(deep);
    expect((await sharp(deep).metadata()).depth).toBe('ushort');
    const d = await readImage(deep);
    expect(d.data.length).toBe(12);
    expect([...d.data]).toEqual([0, 64, 128, 255, 10, 20, 30, 40, 50, 60, 70, 80]);
  });

  it('bad inputs are one-line errors naming the file', async () => {
    const text = join(dir, 'text.jpg');
    await writeFile(text, 'this is not an image\n');
    await expectUserError(readImage(text), 'bad-media', text);
    await expectUserError(readImage(join(dir, 'missing.png')), 'not-found', join(dir, 'missing.png'));
    await expectUserError(readImage(dir), 'not-a-file', dir);
    // A PNG cut in half.
    const whole = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080' } })
      .composite([
        { input: Buffer.from('<svg width="64" height="64"><circle cx="32" cy="32" r="20" fill="red"/></svg>') },
      ])
      .png({ compressionLevel: 0 })
      .toBuffer();
    const cut = join(dir, 'cut.png');
    await writeFile(cut, whole.subarray(0, whole.length >> 1));
    try {
      await readImage(cut);
      throw new Error('expected a UserError');
    } catch (e) {
      expect(isUserError(e), String(e)).toBe(true);
      expect(['truncated', 'bad-media']).toContain((e as { code: string }).code);
      expect((e as Error).message).toContain(cut);
      expect((e as Error).message).not.toContain('\n');
    }
  });
});

describe('writeImageSequence and openSource', () => {
  it('writes PNG losslessly (with alpha) and JPEG, with patterns, and reads them back in order', async () => {
    const frames: SequenceFrame[] = [];
    for (let i = 0; i < 12; i++) {
      const data = Buffer.alloc(7 * 5 * 3);
      for (let k = 0; k < data.length; k++) data[k] = (k * 13 + i * 31) % 256;
      frames.push({ index: i, width: 7, height: 5, data, ...(i === 0 ? { alpha: Buffer.alloc(35, 128) } : {}) });
    }
    const out = join(dir, 'seq');
    const files = await writeImageSequence(frames, out, { format: 'png', pattern: 'f%d' });
    expect(files.length).toBe(12);
    expect((await readdir(out)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const src = await openSource(out);
    expect(src.kind).toBe('images');
    expect(src.count).toBe(12);
    const keys: Array<string | number> = [];
    for await (const f of src.frames()) {
      keys.push(f.key);
      expect(f.data.equals(frames[f.index]?.data as Buffer)).toBe(true);
      if (f.index === 0) expect(f.alpha?.[0]).toBe(128);
      else expect(f.alpha).toBeUndefined();
    }
    expect(keys).toEqual(Array.from({ length: 12 }, (_, i) => `f${i}.png`));
    // every / range on an image folder
    const picked: number[] = [];
    for await (const f of src.frames({ start: 2, end: 9, every: 3 })) picked.push(f.index);
    expect(picked).toEqual([2, 5, 8]);

    const jpgs = await writeImageSequence(frames.slice(0, 2), join(dir, 'jseq'), { format: 'jpg', quality: 90 });
    expect(jpgs.map((p) => p.split('/').pop())).toEqual(['frame_000000.jpg', 'frame_000001.jpg']);
    expect((await readFile(jpgs[0] as string)).subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('file name patterns', () => {
    expect(fileNameFor({ index: 7 }, 'img_%05d', 'png')).toBe('img_00007.png');
    expect(fileNameFor({ index: 7, name: 'clip_000007' }, undefined, 'jpg')).toBe('clip_000007.jpg');
    expect(fileNameFor({ index: 7 }, undefined, 'png')).toBe('frame_000007.png');
    expect(() => fileNameFor({ index: 1 }, '../x%d', 'png')).toThrow();
  });

  it.skipIf(!hasTestdata)('opens a single image as a one-frame source', async () => {
    const file = join(dir, 'still.jpg');
    await copyFile(td('identity', 'liveportrait_personA', 'personA_still.jpg'), file);
    const src = await openSource(file);
    expect(src.kind).toBe('images');
    expect(src.count).toBe(1);
    const all = [];
    for await (const f of src.frames()) all.push(f);
    expect(all.length).toBe(1);
    expect([all[0]?.width, all[0]?.height, all[0]?.key, all[0]?.name]).toEqual([720, 720, 'still.jpg', 'still']);
  });
});
