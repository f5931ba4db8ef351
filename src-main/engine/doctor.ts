/**
 * Facts about this machine that decide what the studio can do: Node, the Electron binary, ffmpeg/ffprobe,
 * tfjs backends and the one training would choose, human's models. Never throws: a missing piece is a fact.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import type { DoctorReport, ToolFacts } from '../../src-shared/doctor';
import { appName, appVersion, nodeRequirement } from './app-info';

const require = createRequire(import.meta.url);

/** Models the extractor needs from @vladmandic/human (detector, mesh, identity descriptor). */
export const REQUIRED_HUMAN_MODELS = ['blazeface', 'facemesh', 'faceres'] as const;

export interface DoctorOptions {
  /** Also probe the tfjs backends (loads tfjs; about a second). Default true. */
  probeBackends?: boolean;
}

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const [media, tfjs] = await Promise.all([
    mediaFacts(),
    opts.probeBackends === false ? Promise.resolve(undefined) : tfjsFacts(),
  ]);
  return {
    app: { name: appName, version: appVersion },
    node: {
      version: process.versions.node,
      required: nodeRequirement,
      ok: nodeSatisfies(process.versions.node, nodeRequirement),
    },
    platform: {
      os: process.platform,
      arch: process.arch,
      cpus: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
    electron: electronFacts(),
    ffmpeg: media.ffmpeg,
    ffprobe: media.ffprobe,
    tfjs: tfjs ?? { backends: [] },
    human: humanFacts(),
  };
}

/** `>=20.19` style requirement check (the only form package.json uses). */
function nodeSatisfies(version: string, requirement: string): boolean {
  const want = /(\d+)(?:\.(\d+))?/.exec(requirement);
  const have = version.split('.').map(Number);
  if (!want) return true;
  const [wMaj, wMin] = [Number(want[1]), Number(want[2] ?? 0)];
  return (have[0] ?? 0) > wMaj || ((have[0] ?? 0) === wMaj && (have[1] ?? 0) >= wMin);
}

/**
 * Where the Electron binary would be, without triggering electron's own download-on-require
 * (`require('electron')` tries to download it, which cannot work offline).
 */
export function electronFacts(): ToolFacts {
  try {
    const pkgDir = dirname(require.resolve('electron/package.json'));
    const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
    const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
    const pathTxt = join(pkgDir, 'path.txt');
    const rel = existsSync(pathTxt) ? readFileSync(pathTxt, 'utf8').trim() : undefined;
    const bin = override ? join(override, rel ?? 'electron') : rel ? join(pkgDir, 'dist', rel) : undefined;
    if (bin && existsSync(bin))
      return { found: true, path: bin, version, source: override ? 'ELECTRON_OVERRIDE_DIST_PATH' : 'electron' };
    return { found: false, version, error: `electron ${version} is installed but its binary was not downloaded` };
  } catch {
    return { found: false, error: 'the electron package is not installed' };
  }
}

async function mediaFacts(): Promise<{ ffmpeg: ToolFacts; ffprobe: ToolFacts }> {
  const { ffmpegFacts } = await import('./media/ffmpeg');
  const f = await ffmpegFacts();
  const tool = (t: { path: string; version: string; source: string } | undefined, name: string): ToolFacts =>
    t
      ? { found: true, path: t.path, version: t.version, source: t.source }
      : { found: false, error: f.error ?? `${name} not found` };
  return { ffmpeg: tool(f.ffmpeg, 'ffmpeg'), ffprobe: tool(f.ffprobe, 'ffprobe') };
}

async function tfjsFacts(): Promise<DoctorReport['tfjs']> {
  try {
    const { tfFacts } = await import('./tf/backend');
    return await tfFacts();
  } catch (e) {
    return { backends: [], error: e instanceof Error ? e.message : String(e) };
  }
}

/** human's models folder, found without loading human or tfjs (doctor must stay fast). */
export function humanModelsDir(): string | undefined {
  try {
    const entry = require.resolve('@vladmandic/human'); // .../dist/human.node.js
    const dir = join(dirname(entry), '..', 'models');
    return existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

function humanFacts(): DoctorReport['human'] {
  const dir = humanModelsDir();
  if (!dir) return { found: false, models: [], missing: [...REQUIRED_HUMAN_MODELS] };
  const models = readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== 'models.json')
    .map((f) => f.slice(0, -5))
    .sort();
  let version: string | undefined;
  try {
    version = (JSON.parse(readFileSync(join(dir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    version = undefined;
  }
  return {
    found: true,
    version,
    modelsPath: dir,
    models,
    missing: REQUIRED_HUMAN_MODELS.filter((m) => !models.includes(m) || !existsSync(join(dir, `${m}.bin`))),
  };
}
