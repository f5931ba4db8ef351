/**
 * Renderer helpers behind issue 13's fixes: which frames a curated-away face leaves original (face file name ->
 * frame, frame ranges without those frames), help text without CLI flags, how a stopped training run reads,
 * and the sort score shown on each face tile.
 */
import { describe, expect, it } from 'vitest';
import { faceFrame, guiHelp, rangesWithout } from '../../src-renderer/lib/format';
import { jobOutcome } from '../../src-renderer/lib/job-outcome';
import { scoreLabel } from '../../src-renderer/lib/faces';

describe('frames left original in a conversion', () => {
  it('reads the frame of a face extract wrote, only for the clip it comes from', () => {
    expect(faceFrame('clip_a_000120_0.png', 'clip_a')).toBe(120);
    expect(faceFrame('clip_a_000006_1.png', 'clip_a')).toBe(6);
    expect(faceFrame('clip_a_000120_0.png', 'clip')).toBeUndefined(); // another clip whose name is a prefix
    expect(faceFrame('clip_b_000120_0.png', 'clip_a')).toBeUndefined();
    expect(faceFrame('photo_0.png', 'photo')).toBeUndefined(); // a photo's face has no frame
  });

  it('covers every frame except the skipped ones with inclusive ranges', () => {
    expect(rangesWithout(216, new Set([0, 6, 12]))).toEqual(['1-5', '7-11', '13-215']);
    expect(rangesWithout(10, new Set([9]))).toEqual(['0-8']);
    expect(rangesWithout(5, new Set([1, 2]))).toEqual(['0-0', '3-4']);
    expect(rangesWithout(3, new Set())).toEqual(['0-2']);
    expect(rangesWithout(2, new Set([0, 1]))).toEqual([]);
  });
});

describe('GUI help text', () => {
  it('names other options by their field label, not their CLI flag', () => {
    expect(guiHelp('Randomly warp the input faces (--no-warp to fine-tune a converged model)')).toBe(
      'Randomly warp the input faces ("Warp" off to fine-tune a converged model)',
    );
    expect(guiHelp('write only the frames inside --frame-ranges')).toBe('write only the frames inside "Frame ranges"');
    expect(guiHelp('no flags here, a - dash')).toBe('no flags here, a - dash');
    expect(guiHelp(undefined)).toBe('');
  });
});

describe('job outcome', () => {
  const stoppedTrain = {
    stage: 'train',
    state: 'cancelled' as const,
    progress: { stage: 'train', title: 'Stopped', fraction: 1, done: 42, metrics: { iteration: 42 } },
  };

  it('reads a stopped training run as stopped at its saved iteration, not cancelled', () => {
    expect(jobOutcome(stoppedTrain)).toEqual({ text: 'Stopped (saved at iteration 42)', kind: 'stopped' });
  });

  it('keeps "cancelled" for a training run cancelled before it saved, and for other stages', () => {
    expect(
      jobOutcome({ ...stoppedTrain, progress: { stage: 'train', title: 'Loading faces', fraction: 0 } }).kind,
    ).toBe('cancelled');
    expect(jobOutcome({ ...stoppedTrain, stage: 'extract' }).kind).toBe('cancelled');
    expect(
      jobOutcome({
        stage: 'convert',
        state: 'running',
        progress: { stage: 'convert', title: 'Converting', fraction: 0.5 },
      }).text,
    ).toBe('running · Converting');
  });
});

describe('face tile score', () => {
  it('shows the value the current sort orders by', () => {
    const m = { blur: 12.345, size: 181.6, yaw: -23.4, distance: 0.01234 };
    expect(scoreLabel('blur', m)).toBe('12.3');
    expect(scoreLabel('size', m)).toBe('182 px');
    expect(scoreLabel('yaw', m)).toBe('-23°');
    expect(scoreLabel('distance', m)).toBe('0.012');
    expect(scoreLabel('name', m)).toBeUndefined();
    expect(scoreLabel('yaw', { blur: 1 })).toBeUndefined();
  });
});
