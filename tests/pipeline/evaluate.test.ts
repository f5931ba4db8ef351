// Sanity of the quality report on real media: a video against itself is a perfect "swap" of the source identity.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QualityReport } from '../../src-shared/formats/quality';
import { runFrames } from '../../src-main/engine/media/stages';
import { runEvaluate } from '../../src-main/engine/evaluate/run';
import { quietContext } from '../../src-main/engine/stage';
import { hasTestdata, scratchDir, td, videos } from '../helpers/testdata';

describe.skipIf(!hasTestdata)('evaluate on real media', () => {
  let dir: string;
  let report: QualityReport;

  beforeAll(async () => {
    dir = await scratchDir('evaluate');
    // Person B's identity from ten of its frames.
    await runFrames({ input: videos.personB, output: join(dir, 'B'), format: 'jpg', quality: 92, everyN: 25 }, quietContext());
    report = await runEvaluate(
      {
        original: videos.personA,
        swapped: videos.personA,
        sourceFaces: [td('identity', 'liveportrait_personA', 'personA_still.jpg')],
        targetFaces: [join(dir, 'B')],
        everyN: 1,
        report: join(dir, 'self.quality.json'),
      },
      quietContext(),
    );
    const { perFrame: _perFrame, ...summary } = report;
    console.log(JSON.stringify({ evaluateSelf: summary }));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a face in every frame of both', () => {
    expect(report.frames.withFaceBoth).toBe(report.frames.total);
  });

  it('an unmodified video has zero pose, expression and temporal error', () => {
    expect(report.pose.errorDeg.mean).toBe(0);
    expect(report.expression.error.mean).toBe(0);
    expect(report.temporal.jitter).toBe(0);
    expect(report.temporal.flicker).toBe(0);
    expect(report.temporal.jitterOriginal).toBeGreaterThan(0); // measured, not skipped
  });

  it('is the source identity, not the target: retrieval goes to A', () => {
    expect(report.identity.similarityToSource.mean).toBeGreaterThan(0.75);
    expect(report.identity.similarityToSource.mean).toBeGreaterThan(report.identity.similarityToTarget.mean + 0.2);
    expect(report.identity.retrievalToTarget).toBe(0);
  });
});
