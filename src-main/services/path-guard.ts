/**
 * Keeps file access of the GUI shells inside the allowed roots (the project folder and the folders the user
 * chose). Paths are resolved through symlinks, so a link inside a root cannot lead outside it.
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { UserError } from '../../src-shared/errors';

export class PathGuard {
  private constructor(readonly roots: string[]) {}

  /** Adds an allowed root (an opened project folder). */
  async addRoot(dir: string): Promise<void> {
    const real = await realpath(resolve(dir));
    if (!this.roots.includes(real)) this.roots.push(real);
  }

  static async create(roots: string[]): Promise<PathGuard> {
    const real = await Promise.all(roots.map(async (r) => realpath(resolve(r))));
    return new PathGuard([...new Set(real)]);
  }

  /** The real absolute path of `p` if it is inside a root; otherwise a UserError('outside-root'). */
  async check(p: string): Promise<string> {
    if (!isAbsolute(p)) throw new UserError('outside-root', `${p}: not an absolute path`, p);
    const real = await realpathOfNearest(resolve(p));
    if (!this.roots.some((root) => isInside(root, real))) {
      throw new UserError('outside-root', `${p}: outside the project folder and the allowed roots`, p);
    }
    return real;
  }
}

export function isInside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** realpath of `p`, or of its nearest existing parent joined with the rest (for outputs not yet written). */
async function realpathOfNearest(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch {
    const parent = dirname(p);
    if (parent === p) return p;
    return resolve(await realpathOfNearest(parent), relative(parent, p));
  }
}
