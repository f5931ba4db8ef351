/** File-system helpers of the media engine. */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `mkdir -p` that always terminates: Node's recursive mkdir can spin forever where mkdir fails with ENOENT
 * under an existing parent (procfs, some network file systems). Throws the underlying errno error.
 */
export async function ensureDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      if ((await stat(dir)).isDirectory()) return;
      throw e;
    }
    if (code !== 'ENOENT') throw e;
    const parent = dirname(dir);
    if (parent === dir) throw e;
    await ensureDir(parent);
    await mkdir(dir); // a second ENOENT now is final
  }
}
