/**
 * The studio's own settings (recent projects, compute backend, ffmpeg path, default folders), one JSON file
 * in the user's config folder (`$FSS_CONFIG_DIR`, else `~/.config/faceswap-studio`), written atomically.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { delimiter, dirname, isAbsolute, join, resolve, win32 } from 'node:path';
import { z } from 'zod';
import { BACKEND_CHOICES } from '../../src-shared/backends';
import { UserError } from '../../src-shared/errors';
import { configDir } from '../engine/app-info';
import { parseVersionLine } from '../engine/media/ffmpeg';
import { runTool } from '../engine/media/proc';
import { writeJsonAtomic } from '../engine/util/atomic-write';
import { isInside } from './path-guard';

const settingsSchema = z.object({
  recent: z.array(z.object({ dir: z.string(), name: z.string(), opened: z.string() })).default([]),
  backend: z.enum(BACKEND_CHOICES).default('auto'),
  ffmpegPath: z.string().optional(),
  /** Where new projects are created by default. */
  projectsDir: z.string().optional(),
  /**
   * EGs/s measured by this studio's training jobs, the newest per trainer, backend and thread count (at most
   * MAX_RATES): the Train view plans with them (`planningRate`) before a run of its own has measured one.
   */
  trainingRates: z
    .array(
      z.object({
        trainer: z.string(),
        backend: z.string(),
        threads: z.int().nonnegative(),
        egs: z.number().positive(),
        iterations: z.int().positive(),
        date: z.string(),
      }),
    )
    .default([]),
});

const MAX_RATES = 24;
/** A session shorter than this says little about the rate (the first steps compile kernels and fill the feeder). */
const MIN_RATE_ITERATIONS = 10;

export type Settings = z.infer<typeof settingsSchema>;

export { configDir };

export class SettingsStore {
  private cached: Settings | undefined;
  constructor(private readonly file = join(configDir(), 'settings.json')) {}

  async get(): Promise<Settings> {
    if (this.cached) return this.cached;
    try {
      const parsed = settingsSchema.safeParse(JSON.parse(await readFile(this.file, 'utf8')));
      // A broken settings file falls back to defaults; it is rewritten on the next change.
      this.cached = parsed.success ? parsed.data : settingsSchema.parse({});
    } catch {
      this.cached = settingsSchema.parse({});
    }
    return this.cached;
  }

  async update(change: (s: Settings) => Settings): Promise<Settings> {
    const next = settingsSchema.parse(change(await this.get()));
    await mkdir(configDir(), { recursive: true });
    await writeJsonAtomic(this.file, next);
    this.cached = next;
    return next;
  }

  /** Keeps a finished or stopped training session's mean rate (sessions under MIN_RATE_ITERATIONS are ignored). */
  async addTrainingRate(r: {
    trainer: string;
    backend: string;
    threads: number;
    egs: number;
    iterations: number;
  }): Promise<void> {
    if (r.iterations < MIN_RATE_ITERATIONS || !(r.egs > 0)) return;
    const same = (o: Settings['trainingRates'][number]) =>
      o.trainer === r.trainer && o.backend === r.backend && o.threads === r.threads;
    await this.update((s) => ({
      ...s,
      trainingRates: [{ ...r, date: new Date().toISOString() }, ...s.trainingRates.filter((o) => !same(o))].slice(
        0,
        MAX_RATES,
      ),
    }));
  }

  async addRecent(dir: string, name: string): Promise<void> {
    await this.update((s) => ({
      ...s,
      recent: [{ dir, name, opened: new Date().toISOString() }, ...s.recent.filter((r) => r.dir !== dir)].slice(0, 12),
    }));
  }
}

/** Folders where system-wide programs live: an ffmpeg there may be chosen even outside the allowed roots. */
function systemDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const fixed =
    process.platform === 'win32'
      ? [env.ProgramFiles, env['ProgramFiles(x86)'], env.ProgramW6432, 'C:\\Program Files', 'C:\\Program Files (x86)']
      : ['/usr/bin', '/usr/local/bin', '/opt/homebrew/bin', '/bin', '/opt/local/bin', '/snap/bin'];
  const onPath = (env.PATH ?? env.Path ?? '').split(delimiter).filter((d) => d !== '' && isAbsolute(d));
  return [...fixed.filter((d): d is string => !!d), ...onPath];
}

function inSystemDir(file: string): boolean {
  const dir = dirname(file);
  // Program Files holds programs in sub-folders; the other folders hold them directly.
  return systemDirs().some((d) =>
    process.platform === 'win32' ? isInside(win32.resolve(d), file) : resolve(d) === dir,
  );
}

/**
 * Checks an ffmpeg the user chose in the settings before it is written and ever run by a job: an absolute
 * path to an executable file inside the allowed roots or a system folder (/usr/bin, /usr/local/bin,
 * /opt/homebrew/bin, Program Files, a folder on PATH), that answers `-version` like ffmpeg. The location is
 * checked before anything is run. Returns the real path and the version; a UserError with one line otherwise.
 */
export async function checkFfmpegPath(
  path: string,
  roots: readonly string[],
): Promise<{ path: string; version: string }> {
  const refuse = (why: string) => new UserError('bad-option', `${path}: ${why}`, path);
  if (!isAbsolute(path)) throw refuse('not an absolute path');
  const real = await realpath(path).catch(() => undefined);
  const st = real ? await stat(real).catch(() => undefined) : undefined;
  if (!real || !st) throw refuse('no such file');
  if (!st.isFile()) throw refuse('not a file');
  if (!roots.some((r) => isInside(r, real)) && !inSystemDir(resolve(path)) && !inSystemDir(real)) {
    throw refuse('outside the allowed roots and the system program folders; put ffmpeg in one of them');
  }
  if (
    process.platform !== 'win32' &&
    (await access(real, constants.X_OK).then(
      () => false,
      () => true,
    ))
  ) {
    throw refuse('not an executable file');
  }
  const r = await runTool(real, ['-hide_banner', '-version'], { timeoutMs: 10_000, maxStdout: 64 * 1024 });
  if (r.error) throw refuse(`cannot be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`);
  const v = parseVersionLine(r.stdout);
  if (r.code !== 0 || !v.versionLine.startsWith('ffmpeg version ')) {
    const said = v.versionLine ? `printed "${v.versionLine.slice(0, 60)}"` : `exit code ${r.code ?? 'none'}`;
    throw refuse(`not ffmpeg ('-version' ${said}, not "ffmpeg version ...")`);
  }
  return { path: real, version: v.version };
}
