/**
 * `npm run bench [-- filter]`: runs every bench in bench/*.bench.ts (or those whose name contains the filter),
 * prints one JSON document on stdout and writes it to bench/results/<timestamp>.json and latest.json.
 * Progress lines go to stderr so stdout stays valid JSON.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Bench } from './types';

const dir = import.meta.dirname;
const filter = process.argv[2];

const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts')).sort();
const results: Array<{
  name: string;
  description: string;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: string;
  wallMs: number;
}> = [];

for (const file of files) {
  const mod = (await import(pathToFileURL(join(dir, file)).href)) as { benches?: Bench[] };
  for (const bench of mod.benches ?? []) {
    if (filter && !bench.name.includes(filter)) continue;
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

const doc = {
  date: new Date().toISOString(),
  machine: {
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
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
