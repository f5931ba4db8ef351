/** `--debug-landmarks`: a JPEG of the frame with its 68 landmarks and each aligned crop's outline drawn on it. */
import { join } from 'node:path';
import sharp from 'sharp';
import type { AlignmentsFrame } from '../../../src-shared/formats/alignments';
import type { RgbImage } from '../face/types';
import { applyMatrix, invertMatrix } from '../face/umeyama';
import { writeFileAtomicSafe } from '../util/atomic-write';

export async function writeDebug(
  frame: { key: string; index: number; stem: string; image: RgbImage },
  entry: AlignmentsFrame,
  dir: string,
  size: number,
): Promise<void> {
  const { width: W, height: H } = frame.image;
  const data = Buffer.from(frame.image.data);
  const r = Math.max(1, Math.round(Math.max(W, H) / 400));
  const dot = (x: number, y: number, c: readonly [number, number, number]) => {
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const px = Math.round(x) + dx,
          py = Math.round(y) + dy;
        if (px < 0 || py < 0 || px >= W || py >= H) continue;
        const i = (py * W + px) * 3;
        data[i] = c[0];
        data[i + 1] = c[1];
        data[i + 2] = c[2];
      }
    }
  };
  for (const f of entry.faces) {
    f.landmarks68.forEach((p, i) =>
      dot(p[0], p[1], i < 17 ? [255, 200, 0] : i < 36 ? [0, 255, 0] : i < 48 ? [0, 200, 255] : [255, 0, 255]),
    );
    // outline of the aligned crop, mapped back into the frame
    const inv = invertMatrix(f.matrix);
    for (let k = 0; k <= 200; k++) {
      const t = (k / 200) * size;
      for (const q of [
        [t, 0],
        [t, size],
        [0, t],
        [size, t],
      ] as const) {
        const p = applyMatrix(inv, q);
        dot(p[0], p[1], [255, 0, 0]);
      }
    }
  }
  const name = `${frame.stem}${/^\d+$/.test(frame.key) ? `_${String(frame.index).padStart(6, '0')}` : ''}.jpg`;
  const jpeg = await sharp(data, { raw: { width: W, height: H, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  await writeFileAtomicSafe(join(dir, name), jpeg, { fsync: false });
}
