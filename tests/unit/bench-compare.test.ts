// `npm run bench -- --compare`: which figures count, which way is better, and the 5% flag.
import { describe, expect, it } from 'vitest';
import { compareToBaseline, direction, machineId, mergeBaseline, type BenchDoc } from '../../bench/compare';

const doc = (date: string, results: BenchDoc['results']): BenchDoc => ({
  date,
  machine: { id: 'amd-epyc-2c', cpus: 2, cpuModel: 'AMD EPYC' },
  results,
});
const run = (name: string, result: Record<string, unknown>) => ({ name, description: '', ok: true, result, wallMs: 1 });

describe('bench baseline comparison', () => {
  it('names the machine kind by CPU model and core count', () => {
    expect(machineId('AMD EPYC', 2)).toBe('amd-epyc-2c');
    expect(machineId('Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz', 16)).toBe('intel-xeon-platinum-8375c-16c');
    expect(machineId(undefined, 4)).toBe('unknown-cpu-4c');
  });

  it('compares speeds (higher is better) and times (lower is better) only', () => {
    expect(direction('framesPerSecond')).toBe('higher');
    expect(direction('threads2.batch16.egs')).toBe('higher');
    expect(direction('speedup16')).toBe('higher');
    expect(direction('elapsedMs')).toBe('lower');
    expect(direction('threads1.batch16.secondsPerIteration')).toBe('lower');
    for (const k of ['frames', 'nme300w', 'jitterStillest', 'forwardGflopPerFace', 'mp4BytesAdded'])
      expect(direction(k), k).toBeUndefined();
  });

  it('flags a figure more than 5% worse, either way round, and nothing within 5%', () => {
    const base = doc('then', [run('extract.480p', { framesPerSecond: 10, elapsedMs: 1000, frames: 216 })]);
    const within = compareToBaseline(
      doc('now', [run('extract.480p', { framesPerSecond: 9.6, elapsedMs: 1040 })]),
      base,
    );
    expect(within.worse).toBe(0);
    expect(within.lines).toHaveLength(2);
    expect(within.lines[0]).toContain('9.6 / 10 = 0.960');
    const slower = compareToBaseline(
      doc('now', [run('extract.480p', { framesPerSecond: 9.4, elapsedMs: 1060 })]),
      base,
    );
    expect(slower.worse).toBe(2);
    expect(slower.lines.every((l) => l.includes('WORSE'))).toBe(true);
    const faster = compareToBaseline(doc('now', [run('extract.480p', { framesPerSecond: 20, elapsedMs: 500 })]), base);
    expect(faster.worse).toBe(0);
    const missing = compareToBaseline(doc('now', [run('convert.480p', { framesPerSecond: 1 })]), base);
    expect(missing.lines).toEqual(['  convert.480p: not in the baseline']);
  });

  it('a saved run replaces only the benches it ran and keeps the note', () => {
    const base = { ...doc('then', [run('a', { fps: 1 }), run('b', { fps: 2 })]), note: 'loaded machine' };
    const merged = mergeBaseline(base, doc('now', [run('b', { fps: 3 }), { ...run('c', {}), ok: false }]));
    expect(merged.note).toBe('loaded machine');
    expect(merged.results.map((r) => [r.name, r.result])).toEqual([
      ['a', { fps: 1 }],
      ['b', { fps: 3 }],
    ]);
  });
});
