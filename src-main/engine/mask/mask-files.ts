/**
 * Mask PNGs beside the aligned faces (docs/masks.md): `<face stem>.mask.png` painted by the user in the Faces
 * view's editor, `<face stem>.segment.png` written by the segment model. Each is a single-channel PNG at the
 * aligned face's size (255 = face, 0 = not face; a PNG with alpha is read by its alpha). The alignments file
 * that holds the face names them in its `masks.painted` / `masks.segment` (format version 2).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import { parseAlignments, type FaceMasks } from '../../../src-shared/formats/alignments';
import type { MaskFileKind } from '../../../src-shared/formats/face-masks';
import { writeFileAtomicSafe, writeJsonAtomic } from '../util/atomic-write';
import { acquireLock, lockFileFor } from '../util/lock';

/** Encodes a 0..255 plane as a single-channel PNG. */
export function encodeMaskPng(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  // b-w: a one-band raw input would otherwise be written as RGB.
  return sharp(Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength), { raw: { width, height, channels: 1 } })
    .toColourspace('b-w')
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/**
 * Checks a mask PNG sent by the editor (bytes): a PNG of exactly `width` x `height`; returns it as a
 * single-channel PNG (the alpha of an RGBA canvas export, else its first channel). A bad one is a one-line error.
 */
export async function normaliseMaskPng(
  bytes: Uint8Array,
  width: number,
  height: number,
  what: string,
): Promise<Buffer> {
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new UserError('bad-media', `${what}: the mask is not a PNG`);
  }
  if (meta.format !== 'png') throw new UserError('bad-media', `${what}: the mask is not a PNG`);
  if (meta.width !== width || meta.height !== height)
    throw new UserError(
      'bad-media',
      `${what}: the mask is ${meta.width}x${meta.height}, the face is ${width}x${height}`,
    );
  const img = sharp(bytes);
  const plane = meta.hasAlpha ? img.extractChannel('alpha') : img.extractChannel(0);
  return plane.toColourspace('b-w').png({ compressionLevel: 6 }).toBuffer();
}

/** Writes a mask PNG atomically (its folder must exist). */
export async function writeMaskPng(path: string, png: Uint8Array): Promise<void> {
  await writeFileAtomicSafe(path, png, { fsync: false });
}

/**
 * Records mask file names in the alignments files of a folder (each `.json` that is an alignments file): every
 * face whose `file` is a key of `updates` gets those `masks` fields (a null value removes the field). Each file is
 * written atomically under its lock, only when something changed. Returns how many faces it holds of `updates`.
 */
export async function recordMasks(
  alignmentsFiles: readonly string[],
  updates: ReadonlyMap<string, Partial<Record<MaskFileKind, string | null>>>,
): Promise<number> {
  let updated = 0;
  for (const file of alignmentsFiles) {
    let raw: string;
    try {
      raw = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    let doc;
    try {
      doc = parseAlignments(JSON.parse(raw), file);
    } catch {
      continue; // not an alignments file
    }
    if (!Object.values(doc.frames).some((f) => f.faces.some((face) => face.file && updates.has(face.file)))) continue;
    const lock = await acquireLock(lockFileFor(file, false), file);
    try {
      // Read again under the lock: the file may have changed since.
      doc = parseAlignments(JSON.parse(await readFile(file, 'utf8')), file);
      let changed = 0;
      for (const frame of Object.values(doc.frames))
        for (const face of frame.faces) {
          const u = face.file ? updates.get(face.file) : undefined;
          if (!u) continue;
          updated++;
          const masks: FaceMasks = { ...face.masks };
          for (const [k, v] of Object.entries(u) as Array<[MaskFileKind, string | null | undefined]>) {
            if (v === null) delete masks[k];
            else if (v !== undefined) masks[k] = v;
          }
          if (JSON.stringify(masks) === JSON.stringify(face.masks ?? {})) continue;
          if (Object.keys(masks).length) face.masks = masks;
          else delete face.masks;
          changed++;
        }
      if (changed) {
        doc.updatedAt = new Date().toISOString();
        await writeJsonAtomic(file, doc);
      }
    } finally {
      await lock.release();
    }
  }
  return updated;
}

/** The alignments files (`*.json`) of a folder, absolute; none when it does not exist. */
export async function alignmentsFilesIn(dir: string): Promise<string[]> {
  try {
    if (!(await stat(dir)).isDirectory()) return [];
  } catch {
    return [];
  }
  return (await readdir(dir)).filter((n) => n.endsWith('.json')).map((n) => join(dir, n));
}
