/**
 * The studio's training proposal (src-shared/train-proposal.ts): trainer, batch and rate from the machine's
 * facts, the rate to plan with (measured first, else the reference machine's scaled by cores), and the time to a
 * recognisable swap from the examples the quality curve needs.
 */
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../src-shared/options';
import { trainStage } from '../../src-shared/stages/train';
import {
  RECOGNISABLE,
  estimateText,
  roughDuration,
  machineFacts,
  planningRate,
  proposeTraining,
  timeToRecognisable,
} from '../../src-shared/train-proposal';

const cpu2 = { cpus: 2, backend: 'wasm' };

describe('proposeTraining', () => {
  it('on a 2-core CPU: lightweight at the measured defaults, every core, batch 16, previews by time', () => {
    const p = proposeTraining(cpu2);
    expect([p.trainer, p.batchSize, p.learningRate, p.loss, p.threads]).toEqual([
      'lightweight',
      16,
      3e-4,
      'mae+ssim',
      0,
    ]);
    expect(p.previewEverySeconds).toBeGreaterThan(0);
    expect(p.reason).toMatch(/2 cores/);
  });

  it('on many cores: 2 faces per gradient worker and side (capped at 64)', () => {
    expect(proposeTraining({ cpus: 16, backend: 'wasm' }).batchSize).toBe(32);
    expect(proposeTraining({ cpus: 64, backend: 'cpu' }).batchSize).toBe(64);
    expect(proposeTraining({ cpus: 8, backend: 'wasm' }).batchSize).toBe(16);
  });

  it('on a CUDA GPU: sae at the gpu preset, batch 8', () => {
    const p = proposeTraining({ cpus: 16, backend: 'tensorflow', gpu: 'NVIDIA H200' });
    expect([p.trainer, p.batchSize, p.options.saePreset]).toEqual(['sae', 8, 'gpu']);
    expect(p.reason).toContain('NVIDIA H200');
    // tfjs-node without a GPU is a CPU backend.
    expect(proposeTraining({ cpus: 4, backend: 'tensorflow' }).trainer).toBe('lightweight');
  });

  it("proposes options the train stage's schema accepts", () => {
    for (const f of [cpu2, { cpus: 32, backend: 'cpu' }, { cpus: 8, backend: 'tensorflow', gpu: 'RTX 4090' }]) {
      const o = parseOptions(trainStage.options, {
        inputA: 'a',
        inputB: 'b',
        modelDir: 'm',
        ...proposeTraining(f).options,
      });
      expect(o.trainer).toBe(proposeTraining(f).trainer);
    }
  });

  it('reads the facts from a doctor report', () => {
    const f = machineFacts({
      platform: { os: 'linux', arch: 'x64', cpus: 12, memoryGiB: 32 },
      tfjs: { backends: [], chosen: 'tensorflow', gpu: 'RTX 3060' },
    });
    expect(f).toEqual({ cpus: 12, backend: 'tensorflow', gpu: 'RTX 3060' });
  });
});

describe('time to a recognisable swap', () => {
  it('plans with a measured rate first, else the reference machine scaled by cores, else none', () => {
    const measured = planningRate('lightweight', cpu2, [{ trainer: 'lightweight', egs: 20, source: 'this run' }]);
    expect(measured).toEqual({ egs: 20, source: 'measured: this run' });
    // The reference: 40.4 EGs/s on 2 cores (1.6x one core).
    expect(planningRate('lightweight', cpu2)?.egs).toBeCloseTo(40.4, 6);
    expect(planningRate('lightweight', { cpus: 1 })?.egs).toBeCloseTo(25.25, 6);
    expect(planningRate('lightweight', cpu2)?.source).toMatch(/^estimated from/);
    expect(planningRate('original', cpu2)).toBeUndefined();
  });

  it("plans with an earlier job's rate only where it was measured on the backend training would use", () => {
    const past = { trainer: 'lightweight', egs: 31, source: 'a training job', backend: 'wasm' };
    const gpu = { ...past, egs: 900, backend: 'webgpu' };
    expect(planningRate('lightweight', { cpus: 2, backend: 'wasm' }, [gpu, past])?.egs).toBe(31);
    expect(planningRate('lightweight', { cpus: 2, backend: 'cpu' }, [gpu, past])?.source).toMatch(/^estimated from/);
  });

  it('is the examples the curve needs over the rate, less what is done', () => {
    const ex = RECOGNISABLE.lightweight?.examples as number;
    const t = timeToRecognisable('lightweight', 16, { egs: 40, source: 's' });
    expect(t?.iteration).toBe(Math.ceil(ex / 32));
    expect(t?.seconds).toBeCloseTo(ex / 40, 6);
    // At batch 8 the same examples take twice the iterations and the same time.
    expect(timeToRecognisable('lightweight', 8, { egs: 40, source: 's' })?.iteration).toBe(2 * (t?.iteration ?? 0));
    const half = timeToRecognisable('lightweight', 16, { egs: 40, source: 's' }, (t?.iteration ?? 0) / 2);
    expect(half?.seconds).toBeCloseTo(ex / 80, 6);
    expect(timeToRecognisable('lightweight', 16, { egs: 40, source: 's' }, 10_000)?.seconds).toBe(0);
    // No measured curve, or no rate: no estimate.
    expect(timeToRecognisable('masked128', 16, { egs: 40, source: 's' })).toBeUndefined();
    expect(timeToRecognisable('lightweight', 16, undefined)).toBeUndefined();
  });
});

describe("the Train view's estimate line", () => {
  it('gives the time with its sources, or why there is none', () => {
    const rate = planningRate('lightweight', cpu2);
    const line = estimateText('lightweight', 16, rate);
    // 47,424 faces at 40.4 EGs/s: 1174 s.
    expect(line).toMatch(
      /^about 20 min \(iteration 1482\) at 40\.4 EGs\/s, estimated from the reference 2-core machine/,
    );
    expect(line).toContain('curve: the quality bench');
    expect(estimateText('lightweight', 16, rate, 1500)).toMatch(/^reached \(iteration 1482\)/);
    expect(estimateText('masked128', 16, rate)).toBe('no estimate: masked128 has no measured quality curve yet');
    expect(estimateText('lightweight', 16, undefined)).toMatch(/^no estimate: no training rate/);
    expect(roughDuration(3 * 3600 + 5 * 60)).toBe('3h 05m');
  });
});
