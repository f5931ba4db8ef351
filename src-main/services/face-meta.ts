/**
 * `faces:meta`: per-face metadata of one identity for the Faces view (sorting, landmark overlay), from the
 * project's alignments files (written by extract): blur (variance of the Laplacian), face size in the source
 * (box side, px), yaw (degrees), landmarks mapped into the aligned crop (0..1), and the distance of each face's
 * aligned landmarks from the identity's mean (RMS, in crop units). Faces with no alignments entry get nothing.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAlignmentsText } from '../../src-shared/formats/alignments';
import type { FaceMeta } from '../../src-shared/ipc';

export async function facesMeta(
  alignmentsDir: string,
  faceNames: readonly string[],
): Promise<Record<string, FaceMeta>> {
  const wanted = new Set(faceNames);
  const out: Record<string, FaceMeta> = {};
  const files = (await readdir(alignmentsDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  for (const f of files) {
    let doc;
    try {
      doc = parseAlignmentsText(await readFile(join(alignmentsDir, f), 'utf8'), f);
    } catch {
      continue; // not an alignments file, or a broken one: the faces simply get no metadata
    }
    const size = doc.settings.size;
    for (const frame of Object.values(doc.frames)) {
      for (const face of frame.faces) {
        if (!face.file || !wanted.has(face.file)) continue;
        const [[a, b, c], [d, e, g]] = face.matrix;
        const toCrop = ([x, y]: readonly [number, number]) =>
          [round((a * x + b * y + c) / size), round((d * x + e * y + g) / size)] as [number, number];
        const landmarks = face.landmarks68.map(toCrop);
        const m = face.masks;
        const masks = m && {
          ...(m.painted ? { painted: m.painted } : {}),
          ...(m.segment ? { segment: m.segment } : {}),
          ...(m.hands ? { hands: m.hands.map((poly) => poly.map(toCrop)) } : {}),
        };
        out[face.file] = {
          ...(face.blur !== undefined ? { blur: face.blur } : {}),
          size: Math.round(Math.max(face.box[2], face.box[3])),
          ...(face.pose ? { yaw: face.pose.yaw } : {}),
          ...(face.identity !== undefined ? { identity: face.identity } : {}),
          landmarks,
          ...(masks && Object.keys(masks).length ? { masks } : {}),
        };
      }
    }
  }
  // Distance from the mean: RMS distance of the aligned landmarks from their mean over the identity.
  const all = Object.values(out).filter((m) => m.landmarks);
  if (all.length) {
    const mean = Array.from({ length: 68 }, (_, i) => {
      let sx = 0,
        sy = 0;
      for (const m of all) {
        const p = m.landmarks?.[i] ?? [0, 0];
        sx += p[0];
        sy += p[1];
      }
      return [sx / all.length, sy / all.length];
    });
    for (const m of all) {
      let s = 0;
      m.landmarks?.forEach(([x, y], i) => {
        const q = mean[i] ?? [0, 0];
        s += (x - (q[0] ?? 0)) ** 2 + (y - (q[1] ?? 0)) ** 2;
      });
      m.distance = round(Math.sqrt(s / 68));
    }
  }
  return out;
}

const round = (v: number) => Math.round(v * 1e4) / 1e4;
