/**
 * Bench results against a committed baseline (bench/baselines/<machine>.json): which figures are speeds (higher is
 * better) or times (lower is better), the median of repeated runs with its spread, each figure's ratio to the
 * baseline, and the flag for a figure that is worse beyond noise. Counts, sizes and quality figures are not
 * compared here (the tests hold those).
 *
 * A figure is flagged only when both hold:
 *   - its median is more than 5% (`TOLERANCE`) worse than the baseline's median, and
 *   - that is outside the noise either side saw: this run's median lies outside the baseline's runs (min..max)
 *     and the baseline's median outside this run's. Single runs (a result without `spread`) are points, so one
 *     run against one run is the plain 5% rule.
 */
export interface BenchResult {
  name: string;
  description: string;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: string;
  /** Wall time of all its runs together, ms. */
  wallMs: number;
  /** How many runs each figure of `result` is the median of (absent in files from before repeated runs: 1). */
  runs?: number;
  /** Each compared figure's lowest and highest value over the runs, by dotted path (only when runs > 1). */
  spread?: Record<string, [min: number, max: number]>;
}

export interface BenchDoc {
  date: string;
  machine: { id: string; cpus: number; cpuModel?: string | undefined; [k: string]: unknown };
  /** Only in a baseline file: how it was made and when to refresh it. */
  note?: string;
  results: BenchResult[];
}

/** How much worse than the baseline a figure may be before it is flagged. */
export const TOLERANCE = 0.05;

/** A stable name for the machine kind: CPU model and core count, e.g. `amd-epyc-2c`. */
export function machineId(cpuModel: string | undefined, cores: number): string {
  const model = (cpuModel ?? '')
    .toLowerCase()
    .replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return `${model || 'unknown-cpu'}-${cores}c`;
}

/** Higher is better for speeds, lower for times; undefined: not a performance figure. */
export function direction(key: string): 'higher' | 'lower' | undefined {
  const leaf = key.split('.').pop() ?? key;
  if (/(PerSec(ond)?|^fps|^egs|^gflops|^speedup\d*)$/.test(leaf)) return 'higher';
  if (/^(ms|sec|seconds|secondsPerIteration)$/.test(leaf) || /(Ms|Seconds)$/.test(leaf)) return 'lower';
  return undefined;
}

/** Numeric leaves of a result, by dotted path (`threads2.batch16.egs`). */
export function figures(result: Record<string, unknown> | undefined, prefix = ''): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(result ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number' && Number.isFinite(v)) out.set(key, v);
    else if (v && typeof v === 'object' && !Array.isArray(v))
      for (const [kk, vv] of figures(v as Record<string, unknown>, key)) out.set(kk, vv);
  }
  return out;
}

/** The middle value (the mean of the middle two for an even count), without float noise in its last digits. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? (v[mid] as number) : +(((v[mid - 1] as number) + (v[mid] as number)) / 2).toPrecision(12);
}

/**
 * One result from several runs of a bench: the first run's shape with every numeric leaf replaced by its median
 * over the runs (text such as the backend's name is the first run's), and the spread (min, max) of each speed or
 * time figure.
 */
export function combineRuns(runs: readonly Record<string, unknown>[]): {
  result: Record<string, unknown>;
  spread?: Record<string, [number, number]>;
} {
  const [first] = runs;
  if (!first) throw new Error('no runs to combine');
  if (runs.length === 1) return { result: first };
  const each = runs.map((r) => figures(r));
  const spread: Record<string, [number, number]> = {};
  const walk = (node: Record<string, unknown>, prefix: string): Record<string, unknown> =>
    Object.fromEntries(
      Object.entries(node).map(([k, v]) => {
        const key = prefix ? `${prefix}.${k}` : k;
        if (typeof v === 'number' && Number.isFinite(v)) {
          const values = each.map((f) => f.get(key)).filter((x): x is number => x !== undefined);
          if (direction(key)) spread[key] = [Math.min(...values), Math.max(...values)];
          return [k, median(values)];
        }
        if (v && typeof v === 'object' && !Array.isArray(v)) return [k, walk(v as Record<string, unknown>, key)];
        return [k, v];
      }),
    );
  const result = walk(first, '');
  return Object.keys(spread).length ? { result, spread } : { result };
}

/**
 * Each bench's results from several rounds (one run of every bench each) as one result: medians and spread
 * (`combineRuns`), `wallMs` the sum; a bench that failed in any round fails, saying in which.
 */
export function combineRounds(rounds: readonly (readonly BenchResult[])[]): BenchResult[] {
  const [first = []] = rounds;
  return first.map((r) => {
    const each = rounds.map((round) => round.find((x) => x.name === r.name));
    const common = {
      name: r.name,
      description: r.description,
      runs: rounds.length,
      wallMs: each.reduce((s, x) => s + (x?.wallMs ?? 0), 0),
    };
    const bad = each.findIndex((x) => !x?.ok);
    if (bad >= 0)
      return { ...common, ok: false, error: `run ${bad + 1} of ${rounds.length}: ${each[bad]?.error ?? 'no result'}` };
    return { ...common, ok: true, ...combineRuns(each.map((x) => x?.result ?? {})) };
  });
}

const range = ([lo, hi]: readonly [number, number]) => (lo === hi ? `${lo}` : `${lo}-${hi}`);

/**
 * One line per compared figure, `name key (higher is better): now [min-max] / baseline [min-max] = ratio`, then
 * for a median more than 5% worse either `WORSE ...` (flagged, counted) or why it is taken as noise (inside the
 * baseline's spread, or inside this run's).
 */
export function compareToBaseline(doc: BenchDoc, baseline: BenchDoc): { lines: string[]; worse: number } {
  const lines: string[] = [];
  let worse = 0;
  for (const r of doc.results) {
    const base = baseline.results.find((b) => b.name === r.name && b.ok);
    if (!r.ok || !base) {
      lines.push(`  ${r.name}: ${r.ok ? 'not in the baseline' : `failed (${r.error ?? 'no result'})`}`);
      continue;
    }
    const was = figures(base.result);
    for (const [key, now] of figures(r.result)) {
      const dir = direction(key);
      const then = was.get(key);
      if (!dir || then === undefined || then === 0) continue;
      const ratio = now / then;
      const nowSpread = r.spread?.[key] ?? [now, now];
      const thenSpread = base.spread?.[key] ?? [then, then];
      const shown = (v: number, s: [number, number]) => (s[0] === s[1] ? `${v}` : `${v} [${range(s)}]`);
      let verdict = '';
      if (dir === 'higher' ? ratio < 1 - TOLERANCE : ratio > 1 + TOLERANCE) {
        const inside = (v: number, [lo, hi]: [number, number]) => v >= lo && v <= hi;
        if (inside(now, thenSpread))
          verdict = `  more than 5% worse, but inside the baseline's spread (${range(thenSpread)}): noise`;
        else if (inside(then, nowSpread))
          verdict = `  more than 5% worse, but the baseline's median is inside this run's spread (${range(nowSpread)}): noise`;
        else {
          worse++;
          verdict = `  WORSE by more than 5%, outside the spread of both`;
        }
      }
      lines.push(
        `  ${r.name} ${key} (${dir} is better): ${shown(now, nowSpread)} / ${shown(then, thenSpread)} = ${ratio.toFixed(3)}${verdict}`,
      );
    }
  }
  return { lines, worse };
}

/** The baseline with this run's successful results replacing those of the same name. */
export function mergeBaseline(baseline: BenchDoc | undefined, doc: BenchDoc): BenchDoc {
  const fresh = doc.results.filter((r) => r.ok);
  const kept = (baseline?.results ?? []).filter((b) => !fresh.some((r) => r.name === b.name));
  return {
    ...doc,
    ...(baseline?.note ? { note: baseline.note } : {}),
    results: [...kept, ...fresh].sort((a, b) => a.name.localeCompare(b.name)),
  };
}
