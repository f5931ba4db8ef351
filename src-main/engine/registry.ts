/**
 * Every pipeline stage the shells (CLI, server, Electron) can run: the shared definition (id, summary, option and
 * result schemas, from the one list in src-shared/stages/index.ts) and a lazy loader of its engine runner, so that
 * `--help` and `doctor` never load tfjs or human. A stage without a runner here fails the typecheck, and so does a
 * runner whose options or result do not match its stage's schemas.
 */
import { parseOptions } from '../../src-shared/options';
import {
  stageDefs,
  type AnyStageDef,
  type StageId,
  type StageOptions,
  type StageResult,
} from '../../src-shared/stages/index';
import type { StageContext } from './stage';

export type StageRunner<Id extends StageId> = (
  options: StageOptions<Id>,
  ctx: StageContext,
) => Promise<StageResult<Id>>;

const runners: { [Id in StageId]: () => Promise<StageRunner<Id>> } = {
  frames: async () => (await import('./media/stages')).runFrames,
  video: async () => (await import('./media/stages')).runVideo,
  probe: async () => (await import('./media/stages')).runProbe,
  extract: async () => (await import('./extract/run')).runExtract,
  train: async () => (await import('./train/run')).runTrain,
  convert: async () => (await import('./convert/run')).runConvert,
  evaluate: async () => (await import('./evaluate/run')).runEvaluate,
  'segment-train': async () => (await import('./mask/segment-run')).runSegmentTrain,
  'segment-apply': async () => (await import('./mask/segment-run')).runSegmentApply,
};

export interface StageEntry {
  def: AnyStageDef;
  /** Loads the runner; it validates nothing itself: options arrive parsed by `parseOptions(def.options, raw)`. */
  load(): Promise<(options: unknown, ctx: StageContext) => Promise<unknown>>;
}

export const stages: StageEntry[] = stageDefs.map((def) => ({
  def,
  load: runners[def.id] as StageEntry['load'],
}));

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
