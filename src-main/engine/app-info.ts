/** The app's own name and version, read once from package.json. */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Root of the installed app (the folder holding package.json). */
export const appRoot = resolve(import.meta.dirname, '..', '..');

const pkg = JSON.parse(readFileSync(join(appRoot, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  engines?: { node?: string };
};

export const appName = 'Faceswap Studio';
export const appVersion = pkg.version;
export const nodeRequirement = pkg.engines?.node ?? '>=20';

/** The user's config folder: settings, recent projects, the content-credentials signing identity. */
export function configDir(): string {
  return process.env.FSS_CONFIG_DIR ?? join(homedir(), '.config', 'faceswap-studio');
}
