/**
 * Every pipeline stage, listed once: the engine's registry (src-main/engine/registry.ts) gives each a runner, the
 * CLI a command, and the studio (src-renderer/lib/stages.ts) its forms. A stage is its id, options and result
 * schemas (`defineStage`); adding one here is all the shells need.
 */
import type { z } from 'zod';
import { convertStage } from './convert';
import { evaluateStage } from './evaluate';
import { extractStage } from './extract';
import { framesStage, probeStage, videoStage } from './media';
import { segmentApplyStage, segmentTrainStage } from './segment';
import { trainStage } from './train';

export const stageDefs = [
  framesStage,
  videoStage,
  probeStage,
  extractStage,
  trainStage,
  convertStage,
  evaluateStage,
  segmentTrainStage,
  segmentApplyStage,
] as const;

export type AnyStageDef = (typeof stageDefs)[number];
export type StageId = AnyStageDef['id'];
export type StageDefOf<Id extends StageId> = Extract<AnyStageDef, { id: Id }>;
export type StageOptions<Id extends StageId> = z.output<StageDefOf<Id>['options']>;
/** What stage `Id`'s runner returns, as its result schema says. */
export type StageResult<Id extends StageId> = z.output<StageDefOf<Id>['result']>;
/** The result of any stage, tagged by its stage (a job's `stage` and `result`). */
export type AnyStageResult = { [Id in StageId]: StageResult<Id> }[StageId];

/**
 * The result of a job of stage `id` (undefined for a job of another stage or without a result). Results are
 * checked against their stage's schema when the job ends (`job:done`), so the cast below is what was checked.
 */
export function stageResult<Id extends StageId>(
  job: { stage: string; result?: unknown },
  id: Id,
): StageResult<Id> | undefined {
  return job.stage === id ? (job.result as StageResult<Id> | undefined) : undefined;
}
