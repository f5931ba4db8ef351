/**
 * `npm run bench [-- filter...] [--runs N] [--compare] [--save-baseline]`: runs every bench in bench/*.bench.ts (or
 * those whose name starts with one of the filters), prints one JSON document on stdout and writes it to
 * bench/results/<timestamp>.json and latest.json. Progress lines go to stderr so stdout stays valid JSON.
 *
 * `--runs N` (or `FSS_BENCH_RUNS=N`; default 1) runs the selected benches N times, each time in a fresh process:
 * each figure of a result is the median of the N runs, `runs` says N and `spread` holds each speed or time
 * figure's min and max.
 *
 * Baselines are committed per machine kind: bench/baselines/<machine>.json, the machine named by its CPU model and
 * core count (`machineId`). `--compare` prints, on stderr, each speed figure's ratio to that baseline and flags
 * those more than 5% worse beyond the spread of either side (compare.ts; the exit code is then 1);
 * `--save-baseline` merges this run's results into it.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomicSafe } from '../src-main/engine/util/atomic-write';
import { combineRounds, compareToBaseline, machineId, mergeBaseline, type BenchDoc, type BenchResult } from './compare';
import type { Bench } from './types';

const dir = import.meta.dirname;
/** Set in the child processes of `--runs N`: the round this process is. */
const ROUND_ENV = 'FSS_BENCH_ROUND';
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      compare: { type: 'boolean', default: false },
      'save-baseline': { type: 'boolean', default: false },
      runs: { type: 'string', default: process.env.FSS_BENCH_RUNS ?? '1' },
    },
  });
} catch (e) {
  const why = (e instanceof Error ? e.message : String(e)).split(/\.\s|\n/)[0];
  process.stderr.write(
    `error: ${why} (usage: npm run bench [-- filter...] [--runs N] [--compare] [--save-baseline])\n`,
  );
  process.exit(2);
}
const { compare, 'save-baseline': saveBaseline } = parsed.values;
const filters = parsed.positionals;
const runs = Number(parsed.values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`error: --runs (or FSS_BENCH_RUNS) takes a whole number from 1, not "${parsed.values.runs}"\n`);
  process.exit(2);
}

/** One run of every selected bench, in this process. */
async function runOnce(): Promise<BenchResult[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts')).sort();
  const results: BenchResult[] = [];
  for (const file of files) {
    let mod: { benches?: Bench[] };
    try {
      mod = (await import(pathToFileURL(join(dir, file)).href)) as { benches?: Bench[] };
    } catch (e) {
      // One bench file that does not load must not cost the others their run.
      const error = `${file} did not load: ${e instanceof Error ? e.message : String(e)}`;
      results.push({ name: file, description: 'bench file', ok: false, error, wallMs: 0 });
      process.stderr.write(`  ${error}\n`);
      continue;
    }
    for (const bench of mod.benches ?? []) {
      if (filters.length && !filters.some((f) => bench.name.startsWith(f))) continue;
      process.stderr.write(`bench ${bench.name}...\n`);
      const t0 = performance.now();
      const common = { name: bench.name, description: bench.description };
      try {
        const result = await bench.run();
        results.push({ ...common, ok: true, result, wallMs: Math.round(performance.now() - t0) });
      } catch (e) {
        const error = e instanceof Error ? e.message : String(e);
        results.push({ ...common, ok: false, error, wallMs: Math.round(performance.now() - t0) });
      }
      const last = results[results.length - 1];
      process.stderr.write(`  ${JSON.stringify(last?.result ?? last?.error)}\n`);
    }
  }
  return results;
}

/**
 * `runs` rounds, each a fresh process that runs every selected bench once: every run measures what a single run
 * does (a cold start stays cold; no cache or model survives into the next run) and the benches interleave, so a
 * slow minute of the machine spreads over all of them. Each bench's rounds are combined (compare.ts).
 */
async function runRounds(): Promise<BenchResult[]> {
  const rounds: BenchResult[][] = [];
  for (let k = 1; k <= runs; k++) {
    process.stderr.write(`round ${k} of ${runs}\n`);
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...filters], {
      env: { ...process.env, FSS_BENCH_RUNS: '1', [ROUND_ENV]: String(k) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('close', res));
    try {
      rounds.push((JSON.parse(out) as BenchDoc).results);
    } catch {
      process.stderr.write(`error: round ${k} of ${runs} printed no results (exit code ${code})\n`);
      process.exit(1);
    }
  }
  return combineRounds(rounds);
}

const round = process.env[ROUND_ENV];
const results = runs > 1 ? await runRounds() : await runOnce();

const doc: BenchDoc = {
  date: new Date().toISOString(),
  machine: {
    id: machineId(cpus()[0]?.model, cpus().length),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    platform: `${process.platform}-${process.arch}`,
  },
  results,
};
const json = JSON.stringify(doc, null, 2);
if (round) {
  // One round of a parent's --runs N: the parent writes, compares and saves.
  process.stdout.write(`${json}\n`);
  process.exit(results.every((r) => r.ok) ? 0 : 1);
}
const out = join(dir, 'results');
await mkdir(out, { recursive: true });
await writeFileAtomicSafe(join(out, `${doc.date.replace(/[:.]/g, '-')}.json`), json);
await writeFileAtomicSafe(join(out, 'latest.json'), json);
process.stdout.write(`${json}\n`);
let ok = results.every((r) => r.ok);

const baselinePath = join(dir, 'baselines', `${doc.machine.id}.json`);
const baseline = await readFile(baselinePath, 'utf8').then(
  (t) => JSON.parse(t) as BenchDoc,
  () => undefined,
);
if (compare) {
  if (!baseline) process.stderr.write(`\nno baseline for this machine (${baselinePath}): nothing to compare\n`);
  else {
    const report = compareToBaseline(doc, baseline);
    process.stderr.write(
      `\ncompared with ${baselinePath} (${baseline.date}): now (median of ${runs} run(s)) / baseline (median of ${[...new Set(baseline.results.map((b) => b.runs ?? 1))].join(' or ')} run(s)), [min-max] of the runs:\n${report.lines.join('\n')}\n`,
    );
    if (report.worse > 0) {
      process.stderr.write(
        `${report.worse} figure(s) more than 5% worse than the baseline, beyond the spread of both\n`,
      );
      ok = false;
    }
  }
}
if (saveBaseline) {
  await mkdir(join(dir, 'baselines'), { recursive: true });
  await writeFileAtomicSafe(baselinePath, `${JSON.stringify(mergeBaseline(baseline, doc), null, 2)}\n`);
  process.stderr.write(`baseline written: ${baselinePath}\n`);
}
process.exitCode = ok ? 0 : 1;
