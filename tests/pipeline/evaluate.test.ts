// Sanity of the quality report on real media: a video against itself is a perfect "swap" of the source identity.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QualityReport } from '../../src-shared/formats/quality';
import { runFrames } from '../../src-main/engine/media/stages';
import { runEvaluate } from '../../src-main/engine/evaluate/run';
import { resolveFfmpeg } from '../../src-main/engine/media/ffmpeg';
import { runTool } from '../../src-main/engine/media/proc';
import { quietContext } from '../../src-main/engine/stage';
import { cutClip } from '../helpers/clips';
import { hasTestdata, scratchDir, td, videos } from '../helpers/testdata';

describe.skipIf(!hasTestdata)('evaluate on real media', () => {
  let dir: string;
  let report: QualityReport;
  let blurred: QualityReport;
  /** A (person A's photo) replaced by B (B's frames, extracted below): every report here. */
  const identities = () => ({
    sourceFaces: [td('identity', 'liveportrait_personA', 'personA_still.jpg')],
    targetFaces: [join(dir, 'B')],
  });

  beforeAll(async () => {
    dir = await scratchDir('evaluate');
    // The identity means are cached in the config folder: the test's own.
    process.env.FSS_CONFIG_DIR = join(dir, 'config');
    // Person B's identity from ten of its frames.
    await runFrames(
      { input: videos.personB, output: join(dir, 'B'), format: 'jpg', quality: 92, everyN: 25 },
      quietContext(),
    );
    report = await runEvaluate(
      {
        original: videos.personA,
        swapped: videos.personA,
        ...identities(),
        everyN: 1,
        identityEvery: 4,
        backend: 'auto',
        report: join(dir, 'self.quality.json'),
      },
      quietContext(),
    );
    const { perFrame: _perFrame, ...summary } = report;
    console.log(JSON.stringify({ evaluateSelf: summary }));
    // A Gaussian-blurred copy (sigma 3), every 6th frame (the sharpness ratio needs no consecutive frames).
    const blur = join(dir, 'blurred.mp4');
    const ff = await resolveFfmpeg();
    await runTool(ff.path, [
      '-v',
      'error',
      '-y',
      '-i',
      videos.personA,
      '-vf',
      'gblur=sigma=3',
      '-c:v',
      'libx264',
      '-crf',
      '18',
      '-an',
      blur,
    ]);
    blurred = await runEvaluate(
      {
        original: videos.personA,
        swapped: blur,
        ...identities(),
        everyN: 6,
        identityEvery: 1,
        backend: 'auto',
        report: join(dir, 'blurred.quality.json'),
      },
      quietContext(),
    );
    console.log(
      JSON.stringify({
        evaluateBlurred: {
          verdict: blurred.verdict,
          sharpness: blurred.sharpness,
          detection: blurred.detection,
          identity: blurred.identity,
        },
      }),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds a face in every frame of both', () => {
    expect(report.frames.withFaceBoth).toBe(report.frames.total);
  });

  it('measures identity and detector scores on every 4th frame, the rest on every frame', () => {
    const sampled = Math.ceil(report.frames.total / 4);
    expect(report.frames.identityMeasured).toBe(sampled);
    expect(report.identity.similarityToTarget.n).toBe(sampled);
    expect(report.detection.originalScore.n).toBe(sampled);
    expect(report.pose.errorDeg.n).toBe(report.frames.total);
    expect(report.perFrame.filter((f) => f.similarityToTarget !== null).map((f) => f.frame)).toEqual(
      Array.from({ length: sampled }, (_, k) => 4 * k),
    );
    // Every 6th frame with identityEvery 1: every measured frame.
    expect(blurred.frames.identityMeasured).toBe(blurred.frames.measured);
  });

  it('samples the same identity frames whatever the ranges and workers', async () => {
    const clip = join(dir, 'personA-22.mp4');
    await cutClip(videos.personA, clip, 22);
    const run = (workers: number, chunkFrames: number) =>
      runEvaluate(
        {
          original: clip,
          swapped: clip,
          ...identities(),
          everyN: 2,
          identityEvery: 3,
          backend: 'auto',
          report: join(dir, `w${workers}.quality.json`),
        },
        quietContext(),
        { workers, chunkFrames },
      );
    // Ranges of 5 measured frames (10 frames: not a multiple of the 6 between identity frames), on one and two workers.
    const [one, two] = [await run(1, 5), await run(2, 5)].map(({ created: _, ...r }) => r);
    expect(two).toEqual(one);
    // Frames 0, 2, ..., 20 are measured; the identity on 0, 6, 12, 18 (by index, not by position in a range).
    expect(one!.perFrame.filter((f) => f.similarityToTarget !== null).map((f) => f.frame)).toEqual([0, 6, 12, 18]);
    expect(one!.frames.identityMeasured).toBe(4);
  }, 120_000);

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

  it('an unmodified video is exactly as sharp as itself, and the detector as sure of it', () => {
    expect(report.sharpness.ratio).toBeGreaterThanOrEqual(0.95);
    expect(report.sharpness.ratio).toBeLessThanOrEqual(1.05);
    expect(report.sharpness.perFrame.n).toBe(report.frames.total);
    expect(report.sharpness.laplacianOriginal).toBeGreaterThan(0);
    expect(report.detection.swappedScore.mean).toBe(report.detection.originalScore.mean);
    expect(report.detection.originalScore.p5).toBeGreaterThan(0.5);
  });

  it('identity margin and the verdict: the video against itself reads as A (the source), sharp', () => {
    expect(report.identity.margin).toBeCloseTo(
      report.identity.similarityToTarget.mean - report.identity.similarityToSource.mean,
      10,
    );
    expect(report.identity.margin).toBeLessThan(-0.2);
    expect(report.verdict).toBe('reads as A, sharp: train longer');
  });

  it('a Gaussian-blurred copy (sigma 3) scores below 0.5 and is called blurry', () => {
    expect(blurred.frames.measured).toBe(Math.ceil(blurred.frames.total / 6));
    expect(blurred.sharpness.ratio).toBeLessThan(0.5);
    expect(blurred.sharpness.perFrame.p95).toBeLessThan(0.5);
    expect(blurred.verdict).toBe('still blurry: train longer');
  });
});
