/**
 * Every pipeline stage the shells (CLI, server, Electron) can run: the shared definition (id, summary, option
 * schema) and a lazy loader of its engine runner, so that `--help` and `doctor` never load tfjs or human.
 * Add one entry per stage; the CLI builds a command, with flags and help, from each.
 */
import type { z } from 'zod';
import type { StageDef } from '../../src-shared/options';
import type { StageContext } from './stage';

export interface StageEntry<S extends z.ZodObject = z.ZodObject> {
  def: StageDef<S>;
  /** Loads the runner; it validates nothing itself: options arrive parsed by `parseOptions(def.options, raw)`. */
  load(): Promise<(options: z.output<S>, ctx: StageContext) => Promise<unknown>>;
}

function entry<S extends z.ZodObject>(e: StageEntry<S>): StageEntry {
  return e as unknown as StageEntry;
}

export const stages: StageEntry[] = [
  // entries are added here by each stage, e.g.
  // entry({ def: extractStage, load: async () => (await import('./extract/run')).runExtract }),
];
void entry;

export function findStage(id: string): StageEntry | undefined {
  return stages.find((s) => s.def.id === id);
}
