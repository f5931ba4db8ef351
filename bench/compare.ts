/**
 * Bench results against a committed baseline (bench/baselines/<machine>.json): which figures are speeds (higher is
 * better) or times (lower is better), each one's ratio to the baseline, and the flag for more than 5% worse.
 * Counts, sizes and quality figures are not compared here (the tests hold those).
 */

export interface BenchResult {
  name: string;
  description: string;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: string;
  wallMs: number;
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

/** One line per compared figure: `name key: now / baseline = ratio [WORSE]`; counts the flagged ones. */
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
      const bad = dir === 'higher' ? ratio < 1 - TOLERANCE : ratio > 1 + TOLERANCE;
      if (bad) worse++;
      lines.push(
        `  ${r.name} ${key} (${dir} is better): ${now} / ${then} = ${ratio.toFixed(3)}${bad ? '  WORSE by more than 5%' : ''}`,
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
