// `npm run bench -- --compare`: which figures count, which way is better, the median of repeated runs and its
// spread, and the flag for more than 5% worse beyond the spread of either side.
import { describe, expect, it } from 'vitest';
import {
  combineRounds,
  combineRuns,
  compareToBaseline,
  direction,
  machineId,
  median,
  mergeBaseline,
  type BenchDoc,
} from '../../bench/compare';

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

  it('combines runs into medians, keeps text from the first run and the spread of speed and time figures', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4.22, 3.96])).toBe(4.09);
    expect(median([0.1, 0.2])).toBe(0.15); // not 0.15000000000000002
    // Three recorded runs of media.decode.480p's shape, one nested figure as the train benches have.
    const runs = [
      { video: 'personA.mp4', frames: 216, seconds: 0.591, framesPerSec: 365.2, t: { batch16: { egs: 33.8 } } },
      { video: 'personA.mp4', frames: 216, seconds: 0.499, framesPerSec: 433, t: { batch16: { egs: 30 } } },
      { video: 'other', frames: 216, seconds: 0.52, framesPerSec: 415.4, t: { batch16: { egs: 31.2 } } },
    ];
    const { result, spread } = combineRuns(runs);
    expect(result).toEqual({
      video: 'personA.mp4',
      frames: 216,
      seconds: 0.52,
      framesPerSec: 415.4,
      t: { batch16: { egs: 31.2 } },
    });
    expect(spread).toEqual({ seconds: [0.499, 0.591], framesPerSec: [365.2, 433], 't.batch16.egs': [30, 33.8] });
    expect(combineRuns([runs[0]!])).toEqual({ result: runs[0] }); // one run: as before, no spread
  });

  it('flags a median more than 5% worse only outside the spread of both (recorded preview runs)', () => {
    // convert.preview.720p re-blend, three runs each (docs: the stop-19 note): 9baeb58 74, 73, 51 ms; HEAD 96,
    // 123, 71 ms. Medians 96 / 73 = 1.315, but HEAD's runs reach down to 71: noise, not flagged.
    const preview = (runs: number[], key = 'reblendMs') => ({
      ...run('convert.preview.720p', {}),
      ...combineRuns(runs.map((v) => ({ [key]: v, faces: 1 }))),
      runs: runs.length,
    });
    const reblend = compareToBaseline(doc('HEAD', [preview([96, 123, 71])]), doc('9baeb58', [preview([74, 73, 51])]));
    expect(reblend.worse).toBe(0);
    expect(reblend.lines).toEqual([
      "  convert.preview.720p reblendMs (lower is better): 96 [71-123] / 73 [51-74] = 1.315  more than 5% worse, but the baseline's median is inside this run's spread (71-123): noise",
    ]);
    // Seamless re-blend runs of 05:06-05:13: a baseline of 157, 177, 227 ms (median 177) and a run of 195, 227,
    // 178 (median 195, 1.10x): 195 ms is inside what the baseline's own runs did.
    const seamless = compareToBaseline(
      doc('now', [preview([195, 227, 178], 'reblendSeamlessMs')]),
      doc('then', [preview([157, 177, 227], 'reblendSeamlessMs')]),
    );
    expect(seamless.worse).toBe(0);
    expect(seamless.lines[0]).toContain("inside the baseline's spread (157-227): noise");
    // openMs: five runs of 794-945 ms against runs of 787, 770, 781: every run slower, flagged.
    const open = compareToBaseline(
      doc('now', [preview([794, 850, 945, 866, 924], 'openMs')]),
      doc('then', [preview([787, 770, 781], 'openMs')]),
    );
    expect(open.worse).toBe(1);
    expect(open.lines[0]).toBe(
      '  convert.preview.720p openMs (lower is better): 866 [794-945] / 781 [770-787] = 1.109  WORSE by more than 5%, outside the spread of both',
    );
    // The same medians with overlapping runs on the baseline's side: noise.
    const overlap = compareToBaseline(
      doc('now', [preview([794, 850, 945, 866, 924], 'openMs')]),
      doc('then', [preview([787, 770, 781, 880, 760], 'openMs')]),
    );
    expect(overlap.worse).toBe(0);
    // Speeds the same way round: media.encode.720p 31.9 fps against 34.3 (single runs, 0.930) is flagged; with
    // the baseline's runs reaching 31.5 it is not.
    const encode = (fps: number[]) => ({
      ...run('media.encode.720p', {}),
      ...combineRuns(fps.map((v) => ({ framesPerSec: v }))),
    });
    expect(compareToBaseline(doc('now', [encode([31.9])]), doc('then', [encode([34.3])])).worse).toBe(1);
    expect(compareToBaseline(doc('now', [encode([31.9])]), doc('then', [encode([34.3, 31.5, 35])])).worse).toBe(0);
  });

  it('combines rounds of every bench by name; a bench that failed in one round fails, saying which', () => {
    // convert.preview.720p's openMs in three rounds of 05:09-05:12 (794, 850, 945 ms), each round a fresh process.
    const round = (openMs: number, c2pa?: string) => [
      { ...run('convert.preview.720p', { openMs, faces: 1 }), wallMs: 30_000 },
      c2pa ? { ...run('convert.c2pa', {}), ok: false, error: c2pa } : run('convert.c2pa', { mp4Ms: 9 }),
    ];
    const [preview, c2pa] = combineRounds([round(850), round(794, 'c2pa-rs did not load'), round(945)]);
    expect(preview).toEqual({
      name: 'convert.preview.720p',
      description: '',
      runs: 3,
      wallMs: 90_000,
      ok: true,
      result: { openMs: 850, faces: 1 },
      spread: { openMs: [794, 945] },
    });
    expect(c2pa).toMatchObject({ ok: false, error: 'run 2 of 3: c2pa-rs did not load', runs: 3 });
  });
});
