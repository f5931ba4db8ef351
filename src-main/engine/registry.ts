/**
 * Every pipeline stage the shells (CLI, server, Electron) can run: the shared definition (id, summary, option
 * schema) and a lazy loader of its engine runner, so that `--help` and `doctor` never load tfjs or human.
 * Add one entry per stage; the CLI builds a command, with flags and help, from each.
 */
import type { z } from 'zod';
import { parseOptions, type StageDef } from '../../src-shared/options';
import type { StageContext } from './stage';
import { evaluateStage } from '../../src-shared/stages/evaluate';
import { framesStage, probeStage, videoStage } from '../../src-shared/stages/media';
import { convertStage } from '../../src-shared/stages/convert';
import { extractStage } from '../../src-shared/stages/extract';
import { trainStage } from '../../src-shared/stages/train';

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
  entry({ def: framesStage, load: async () => (await import('./media/stages')).runFrames }),
  entry({ def: videoStage, load: async () => (await import('./media/stages')).runVideo }),
  entry({ def: probeStage, load: async () => (await import('./media/stages')).runProbe }),
  entry({ def: extractStage, load: async () => (await import('./extract/run')).runExtract }),
  entry({ def: trainStage, load: async () => (await import('./train/run')).runTrain }),
  entry({ def: convertStage, load: async () => (await import('./convert/run')).runConvert }),
  entry({ def: evaluateStage, load: async () => (await import('./evaluate/run')).runEvaluate }),
];
void entry;

export function findStage(id: string): StageEntry | undefined {
  return stages.find((s) => s.def.id === id);
}

/**
 * Runs stage `id` on raw options (parsed by its schema, as the shells do): how one stage calls another (convert's
 * quality report runs evaluate) without importing a runner from another layer.
 */
export async function runStage(id: string, raw: unknown, ctx: StageContext): Promise<unknown> {
  const stage = findStage(id);
  if (!stage) throw new Error(`unknown stage ${id}`);
  const run = await stage.load();
  return run(parseOptions(stage.def.options, raw), ctx);
}
