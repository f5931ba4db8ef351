/**
 * `npm run bench [-- filter...] [--compare] [--save-baseline]`: runs every bench in bench/*.bench.ts (or those
 * whose name starts with one of the filters), prints one JSON document on stdout and writes it to
 * bench/results/<timestamp>.json and latest.json. Progress lines go to stderr so stdout stays valid JSON.
 *
 * Baselines are committed per machine kind: bench/baselines/<machine>.json, the machine named by its CPU model and
 * core count (`machineId`). `--compare` prints, on stderr, each speed figure's ratio to that baseline and flags
 * those more than 5% worse (the exit code is then 1); `--save-baseline` merges this run's results into it.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compareToBaseline, machineId, mergeBaseline, type BenchDoc, type BenchResult } from './compare';
import type { Bench } from './types';

const dir = import.meta.dirname;
const args = process.argv.slice(2);
const compare = args.includes('--compare');
const saveBaseline = args.includes('--save-baseline');
const filters = args.filter((a) => !a.startsWith('--'));

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
    try {
      const result = await bench.run();
      results.push({
        name: bench.name,
        description: bench.description,
        ok: true,
        result,
        wallMs: Math.round(performance.now() - t0),
      });
    } catch (e) {
      results.push({
        name: bench.name,
        description: bench.description,
        ok: false,
        error: e instanceof Error ? e.message : String(e),
        wallMs: Math.round(performance.now() - t0),
      });
    }
    process.stderr.write(
      `  ${JSON.stringify(results[results.length - 1]?.result ?? results[results.length - 1]?.error)}\n`,
    );
  }
}

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
const out = join(dir, 'results');
await mkdir(out, { recursive: true });
const json = JSON.stringify(doc, null, 2);
await writeFile(join(out, `${doc.date.replace(/[:.]/g, '-')}.json`), json);
await writeFile(join(out, 'latest.json'), json);
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
    process.stderr.write(`\ncompared with ${baselinePath} (${baseline.date}):\n${report.lines.join('\n')}\n`);
    if (report.worse > 0) {
      process.stderr.write(`${report.worse} figure(s) more than 5% worse than the baseline\n`);
      ok = false;
    }
  }
}
if (saveBaseline) {
  await mkdir(join(dir, 'baselines'), { recursive: true });
  await writeFile(baselinePath, `${JSON.stringify(mergeBaseline(baseline, doc), null, 2)}\n`);
  process.stderr.write(`baseline written: ${baselinePath}\n`);
}
process.exitCode = ok ? 0 : 1;
