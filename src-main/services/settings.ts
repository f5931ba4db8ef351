/**
 * The studio's own settings (recent projects, compute backend, ffmpeg path, default folders), one JSON file
 * in the user's config folder (`$FSS_CONFIG_DIR`, else `~/.config/faceswap-studio`), written atomically.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { configDir } from '../engine/app-info';
import { writeJsonAtomic } from '../engine/util/atomic-write';

const settingsSchema = z.object({
  recent: z.array(z.object({ dir: z.string(), name: z.string(), opened: z.string() })).default([]),
  backend: z.enum(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']).default('auto'),
  ffmpegPath: z.string().optional(),
  /** Where new projects are created by default. */
  projectsDir: z.string().optional(),
});

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

  async addRecent(dir: string, name: string): Promise<void> {
    await this.update((s) => ({ ...s, recent: [{ dir, name, opened: new Date().toISOString() }, ...s.recent.filter((r) => r.dir !== dir)].slice(0, 12) }));
  }
}
