import { availableParallelism } from 'node:os';
import { relative } from 'node:path';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each of the longer test files took (its beforeAll included) in a whole run of `npm test` on an idle
 * 2-core machine (2026-12-02, 1254 s of vitest, one file at a time). Only their order matters: the longest start
 * first, so the two workers end together instead of one running a long file alone at the end. A file not listed
 * counts as 0 s. Refresh from a run's test-results/vitest.json when the order changes a lot.
 */
const SECONDS: Record<string, number> = {
  'tests/pipeline/convert-model.test.ts': 170,
  'tests/pipeline/extract-video.test.ts': 137,
  'tests/e2e/studio-flow.test.ts': 118,
  'tests/pipeline/train-sae.test.ts': 61,
  'tests/pipeline/train-run.test.ts': 60,
  'tests/unit/webgpu-train.test.ts': 58,
  'tests/unit/webgpu-kernels.test.ts': 51,
  'tests/pipeline/evaluate.test.ts': 51,
  'tests/pipeline/segment-model.test.ts': 44,
  'tests/unit/hands.test.ts': 42,
  'tests/unit/train-core.test.ts': 31,
  'tests/pipeline/media-roundtrip.test.ts': 31,
  'tests/unit/train-parallel.test.ts': 30,
  'tests/pipeline/extract-parallel.test.ts': 30,
  'tests/pipeline/convert-run.test.ts': 28,
  'tests/pipeline/faults-model.test.ts': 27,
  'tests/unit/train-worker.test.ts': 22,
  'tests/e2e/studio-views.test.ts': 22,
  'tests/pipeline/faults-train.test.ts': 21,
  'tests/pipeline/faults-convert.test.ts': 19,
  'tests/unit/train-loss.test.ts': 17,
  'tests/pipeline/extract-photos.test.ts': 17,
  'tests/unit/webgpu-preview.test.ts': 14,
  'tests/pipeline/cli-errors.test.ts': 14,
  'tests/unit/studio-settings-jobs.test.ts': 13,
  'tests/unit/train-sae.test.ts': 12,
  'tests/pipeline/convert-hands.test.ts': 12,
  'tests/pipeline/faults-extract.test.ts': 12,
  'tests/unit/server-fuzz.test.ts': 11,
  'tests/pipeline/convert-parallel.test.ts': 10,
  'tests/unit/media-video.test.ts': 9,
  'tests/e2e/studio-masks.test.ts': 8,
  'tests/e2e/studio-faces-grid.test.ts': 8,
  'tests/pipeline/segment-stages.test.ts': 7,
};

/** Longest first over all three projects (vitest's own order runs project after project). */
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (f: TestSpecification) => SECONDS[relative(root, f.moduleId).replaceAll('\\', '/')] ?? 0;
    return (await super.sort(files)).sort((a, b) => seconds(b) - seconds(a));
  }
}

/**
 * One pool of one worker per core (at least 2) for the three projects, so a mostly single-threaded unit file runs
 * beside a pipeline file's single-threaded phases (model loading, decoding, the test's own measuring) instead of
 * leaving a core idle; vitest's default on 2 cores is one worker, every file after the other. Polls wait up to
 * 10 s (vitest's default, 1 s, is short for a page that answers while another file keeps both cores busy).
 */
const shared = {
  environment: 'node',
  expect: { poll: { timeout: 10_000 } },
  // FSS_TEST_CPU=<folder>: each file's wall and CPU seconds (tests/helpers/cpu-time.ts)
  setupFiles: ['tests/helpers/cpu-time.ts'],
};

export default defineConfig({
  test: {
    maxWorkers: Math.max(2, availableParallelism()),
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        test: {
          ...shared,
          name: 'unit',
          include: ['tests/unit/**/*.test.ts', 'src-*/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'pipeline',
          include: ['tests/pipeline/**/*.test.ts'],
          testTimeout: 900_000,
          hookTimeout: 900_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
