/** Training folders of real faces for the trainer tests: photos of the test data cut to squares. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { td } from './testdata';

/**
 * Writes each side's photos (file names under the test data's faces/) as `size` px square crops named like
 * aligned faces (`f_000000_0.png`, ...) into `<dir>/<side>`.
 */
export async function writeFaceCrops(dir: string, photos: Record<string, string[]>, size = 96): Promise<void> {
  for (const [side, files] of Object.entries(photos)) {
    await mkdir(join(dir, side));
    for (const [i, f] of files.entries()) {
      await sharp(td('faces', f))
        .resize(size, size, { fit: 'cover' })
        .png()
        .toFile(join(dir, side, `f_${String(i).padStart(6, '0')}_0.png`));
    }
  }
}
