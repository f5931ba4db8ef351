/**
 * Keeps file access of the GUI shells inside the allowed roots (the project folder and the folders the user
 * chose). Paths are resolved through symlinks, so a link inside a root cannot lead outside it.
 */
import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import type { z } from 'zod';
import { isUserError, UserError } from '../../src-shared/errors';
import { describeOptions, flagName } from '../../src-shared/options';

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

/**
 * Checks every option a stage schema declares as a `path` or `paths` field (its FieldMeta kind, not the look of
 * the value): read and write paths alike, each element of a list. A relative path is taken relative to the
 * open project (`base`), and refused when there is none; then it must pass the guard. Returns the options
 * with those paths replaced by their checked real paths; values of the wrong type are left for the schema to
 * refuse.
 */
export async function guardOptionPaths(
  guard: PathGuard,
  schema: z.ZodObject,
  options: Record<string, unknown>,
  base: string | undefined,
): Promise<Record<string, unknown>> {
  const out = { ...options };
  for (const { key, meta } of describeOptions(schema)) {
    if ((meta.kind !== 'path' && meta.kind !== 'paths') || !Object.hasOwn(options, key)) continue;
    const flag = `--${flagName(key, meta)}`;
    const check = async (p: unknown): Promise<unknown> => {
      if (typeof p !== 'string' || p === '') return p;
      let abs = p;
      if (!isAbsolute(p)) {
        if (base === undefined)
          throw new UserError('outside-root', `${flag}: ${p}: a relative path needs an open project`, p);
        abs = resolve(base, p);
      }
      try {
        return await guard.check(abs);
      } catch (e) {
        throw isUserError(e) ? new UserError(e.code, `${flag}: ${e.message}`, abs) : e;
      }
    };
    const v = options[key];
    out[key] = meta.kind === 'paths' && Array.isArray(v) ? await Promise.all(v.map(check)) : await check(v);
  }
  return out;
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
