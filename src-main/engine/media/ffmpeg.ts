/**
 * Finds the ffmpeg and ffprobe executables. Order, first hit wins:
 *   ffmpeg:  user setting (`configureMediaTools`, a `path` option, env FSS_FFMPEG) -> `ffmpeg-static` ->
 *            `@ffmpeg-installer/ffmpeg` -> `ffmpeg` on PATH
 *   ffprobe: user setting (env FSS_FFPROBE) -> `@ffprobe-installer/ffprobe` -> `ffprobe-static` -> PATH
 * A path the user set is never skipped silently: if it cannot be run, that is the error. Packaged candidates
 * that fail to run (a binary that was not downloaded, a wrong architecture) are skipped with their reason
 * remembered for the final error. Results are cached per process; `resetMediaToolsCache` forgets them.
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join, sep } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { runTool } from './proc';

export type FfmpegSource = 'setting' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | 'PATH';
export type FfprobeSource = 'setting' | '@ffprobe-installer/ffprobe' | 'ffprobe-static' | 'PATH';

export interface ToolInfo<S extends string = string> {
  tool: 'ffmpeg' | 'ffprobe';
  /** Absolute path of the executable. */
  path: string;
  /** Version token of the first `-version` line, for example `6.1.1` or `N-47683-g0e8eb07980-static`. */
  version: string;
  /** The whole first line of `-version`. */
  versionLine: string;
  source: S;
}

export interface FfmpegInfo extends ToolInfo<FfmpegSource> {
  /** Encoders the media engine relies on. */
  encoders: { libx264: boolean; aac: boolean };
  /** Option that selects the frame-rate mode: `-fps_mode` (ffmpeg >= 5.1) or the older `-vsync`. */
  fpsModeFlag: '-fps_mode' | '-vsync';
}

export type FfprobeInfo = ToolInfo<FfprobeSource>;

export interface MediaToolSettings {
  /** Path of ffmpeg chosen by the user (app settings). Overrides FSS_FFMPEG. */
  ffmpegPath?: string | undefined;
  /** Path of ffprobe chosen by the user. Overrides FSS_FFPROBE. */
  ffprobePath?: string | undefined;
}

let settings: MediaToolSettings = {};
let ffmpegCache: Promise<FfmpegInfo> | undefined;
let ffprobeCache: Promise<FfprobeInfo> | undefined;

/** Sets the user's choice of executables (from app settings) and forgets cached lookups. */
export function configureMediaTools(s: MediaToolSettings): void {
  settings = { ...s };
  resetMediaToolsCache();
}

export function resetMediaToolsCache(): void {
  ffmpegCache = undefined;
  ffprobeCache = undefined;
}

const require = createRequire(import.meta.url);

interface Candidate<S> {
  source: S;
  /** Returns the path, or throws/returns undefined when this candidate is not available. */
  find(): string | undefined;
}

/** Inside a packaged Electron app, executables live in app.asar.unpacked, not in the asar archive. */
function unpacked(p: string): string {
  return p.replace(`app.asar${sep}`, `app.asar.unpacked${sep}`);
}

function moduleExport(name: string): unknown {
  try {
    return require(name) as unknown;
  } catch {
    return undefined;
  }
}

function pathOf(exp: unknown): string | undefined {
  if (typeof exp === 'string') return exp;
  if (exp && typeof exp === 'object') {
    const o = exp as { path?: unknown; default?: unknown };
    if (typeof o.path === 'string') return o.path;
    if (typeof o.default === 'string') return o.default;
  }
  return undefined;
}

function fromModule(name: string): string | undefined {
  const p = pathOf(moduleExport(name));
  if (!p) return undefined;
  const real = unpacked(p);
  return existsSync(real) ? real : undefined;
}

/** Looks an executable up on PATH (PATHEXT on Windows). Returns its absolute path or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean);
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const p = join(dir, name + ext.toLowerCase());
      try {
        if (!statSync(p).isFile()) continue;
        if (process.platform !== 'win32') accessSync(p, constants.X_OK);
        return p;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** First line of `<tool> -version` and the version token in it. */
export function parseVersionLine(text: string): { version: string; versionLine: string } {
  const versionLine = (text.split(/\r?\n/).find((l) => l.trim().length > 0) ?? '').trim();
  const m = /\bversion\s+(\S+)/i.exec(versionLine);
  return { versionLine, version: m?.[1] ?? 'unknown' };
}

async function probeVersion(
  path: string,
  tool: 'ffmpeg' | 'ffprobe',
): Promise<{ version: string; versionLine: string }> {
  const r = await runTool(path, ['-hide_banner', '-version'], { timeoutMs: 15_000, maxStdout: 1 << 20 });
  if (r.error) throw new Error((r.error as NodeJS.ErrnoException).code ?? r.error.message);
  if (r.code !== 0) throw new Error(`exit code ${r.code}: ${r.stderr.trim().split(/\r?\n/).pop() ?? ''}`);
  const v = parseVersionLine(r.stdout);
  if (!v.versionLine.toLowerCase().startsWith(tool)) throw new Error(`'-version' did not print an ${tool} version`);
  return v;
}

async function resolveTool<S extends string>(
  tool: 'ffmpeg' | 'ffprobe',
  setting: { path: string; origin: string } | undefined,
  candidates: Array<Candidate<S>>,
): Promise<ToolInfo<S | 'setting'>> {
  if (setting) {
    try {
      const v = await probeVersion(setting.path, tool);
      return { tool, path: setting.path, ...v, source: 'setting' };
    } catch (e) {
      throw new UserError(
        'unavailable',
        `${setting.path}: the ${tool} set by ${setting.origin} cannot be run (${(e as Error).message})`,
        setting.path,
      );
    }
  }
  const tried: string[] = [];
  for (const c of candidates) {
    let p: string | undefined;
    try {
      p = c.find();
    } catch {
      p = undefined;
    }
    if (!p) {
      tried.push(`${c.source}: not installed`);
      continue;
    }
    try {
      const v = await probeVersion(p, tool);
      return { tool, path: p, ...v, source: c.source };
    } catch (e) {
      tried.push(`${c.source} (${p}): ${(e as Error).message}`);
    }
  }
  throw new UserError(
    'unavailable',
    `${tool} not found (tried ${tried.join('; ')}); install ffmpeg or set its path in the settings (env FSS_${tool.toUpperCase()})`,
  );
}

function settingFor(tool: 'ffmpeg' | 'ffprobe', explicit?: string): { path: string; origin: string } | undefined {
  if (explicit) return { path: explicit, origin: 'the path option' };
  const s = tool === 'ffmpeg' ? settings.ffmpegPath : settings.ffprobePath;
  if (s) return { path: s, origin: 'the settings' };
  const env = tool === 'ffmpeg' ? process.env.FSS_FFMPEG : process.env.FSS_FFPROBE;
  if (env) return { path: env, origin: `FSS_${tool.toUpperCase()}` };
  return undefined;
}

async function capabilities(path: string): Promise<Pick<FfmpegInfo, 'encoders' | 'fpsModeFlag'>> {
  const [enc, help] = await Promise.all([
    runTool(path, ['-hide_banner', '-encoders'], { timeoutMs: 15_000 }),
    runTool(path, ['-hide_banner', '-h', 'long'], { timeoutMs: 15_000 }),
  ]);
  const has = (name: string) => new RegExp(`^\\s*\\S+\\s+${name}\\s`, 'm').test(enc.stdout);
  return {
    encoders: { libx264: has('libx264'), aac: has('aac') },
    fpsModeFlag: /^\s*-fps_mode\b/m.test(help.stdout) ? '-fps_mode' : '-vsync',
  };
}

/** The ffmpeg to use. `opts.path` overrides every other source. Throws UserError('unavailable'). */
export function resolveFfmpeg(opts: { path?: string } = {}): Promise<FfmpegInfo> {
  const run = async (): Promise<FfmpegInfo> => {
    const base = (await resolveTool<FfmpegSource>('ffmpeg', settingFor('ffmpeg', opts.path), [
      { source: 'ffmpeg-static', find: () => fromModule('ffmpeg-static') },
      { source: '@ffmpeg-installer/ffmpeg', find: () => fromModule('@ffmpeg-installer/ffmpeg') },
      { source: 'PATH', find: () => findOnPath('ffmpeg') },
    ])) as ToolInfo<FfmpegSource>;
    return { ...base, ...(await capabilities(base.path)) };
  };
  if (opts.path) return run();
  if (!ffmpegCache) {
    ffmpegCache = run();
    ffmpegCache.catch(() => (ffmpegCache = undefined)); // a failure is retried next time (the user may fix it)
  }
  return ffmpegCache;
}

/** The ffprobe to use. `opts.path` overrides every other source. Throws UserError('unavailable'). */
export function resolveFfprobe(opts: { path?: string } = {}): Promise<FfprobeInfo> {
  const run = async (): Promise<FfprobeInfo> =>
    (await resolveTool<FfprobeSource>('ffprobe', settingFor('ffprobe', opts.path), [
      { source: '@ffprobe-installer/ffprobe', find: () => fromModule('@ffprobe-installer/ffprobe') },
      { source: 'ffprobe-static', find: () => fromModule('ffprobe-static') },
      { source: 'PATH', find: () => findOnPath('ffprobe') },
    ])) as FfprobeInfo;
  if (opts.path) return run();
  if (!ffprobeCache) {
    ffprobeCache = run();
    ffprobeCache.catch(() => (ffprobeCache = undefined));
  }
  return ffprobeCache;
}

/** The ffmpeg to encode with: as `resolveFfmpeg`, and it must have libx264. */
export async function ffmpegForEncoding(): Promise<FfmpegInfo> {
  const f = await resolveFfmpeg();
  if (!f.encoders.libx264)
    throw new UserError(
      'unavailable',
      `${f.path}: this ffmpeg has no libx264 encoder (H.264); use a full build`,
      f.path,
    );
  return f;
}

export interface MediaToolFacts {
  ffmpeg?: FfmpegInfo;
  ffprobe?: FfprobeInfo;
  /** Set when either tool is missing: one line per problem, joined by `; `. */
  error?: string;
}

/** What `doctor` reports: both tools with path, version and source, or why they are missing. Never throws. */
export async function ffmpegFacts(): Promise<MediaToolFacts> {
  const [a, b] = await Promise.allSettled([resolveFfmpeg(), resolveFfprobe()]);
  const facts: MediaToolFacts = {};
  const errors: string[] = [];
  if (a.status === 'fulfilled') {
    facts.ffmpeg = a.value;
    if (!a.value.encoders.libx264)
      errors.push(`${a.value.path}: ffmpeg has no libx264 encoder (needed to write videos)`);
  } else errors.push((a.reason as Error).message);
  if (b.status === 'fulfilled') facts.ffprobe = b.value;
  else errors.push((b.reason as Error).message);
  if (errors.length) facts.error = errors.join('; ');
  return facts;
}
