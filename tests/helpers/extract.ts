/** Face extraction for the pipeline tests' fixtures. */
import type { z } from 'zod';
import type { ExtractResult } from '../../src-main/engine/extract/run';
import type { extractOptions } from '../../src-shared/stages/extract';

/**
 * Extracts with `options` (the extract stage's defaults for the rest), quietly, in the test's thread (`workers:
 * 1`): two extract workers would each load the face models (~3 CPU s each) for the same faces, byte for byte
 * (extract-parallel.test.ts); in this thread they load once and stay loaded for the file's next run. The tests of
 * the workers themselves (cancel and resume, the identity filter, extract-parallel) call runExtract. Engine
 * modules are imported lazily, as in bench/fixtures.ts.
 */
export async function extractInThread(options: z.input<typeof extractOptions>): Promise<ExtractResult> {
  const { runExtract } = await import('../../src-main/engine/extract/run');
  const { quietContext } = await import('../../src-main/engine/stage');
  const { parseOptions } = await import('../../src-shared/options');
  const { extractStage } = await import('../../src-shared/stages/extract');
  return runExtract(parseOptions(extractStage.options, options), quietContext(), { workers: 1 });
}
