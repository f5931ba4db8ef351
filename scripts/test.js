#!/usr/bin/env node
// `npm test`: typecheck, lint, format check (prettier), unused exports (knip), build, then the unit, pipeline and end-to-end tests (vitest). Each check step
// counts as one test; vitest's tests count one each. The last line is `N passed, N failed, N skipped`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const args = process.argv.slice(2); // extra args go to vitest (e.g. a file filter or --project unit)

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

function step(name, cmd, cmdArgs) {
  process.stdout.write(`\n=== ${name}: ${[cmd.split('/').pop(), ...cmdArgs].join(' ')}\n`);
  const t0 = Date.now();
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  const ok = r.status === 0;
  process.stdout.write(`=== ${name}: ${ok ? 'ok' : 'FAILED'} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  if (ok) passed++;
  else {
    failed++;
    failures.push(name);
  }
  return ok;
}

if (args.length === 0) {
  step('typecheck shared', bin('tsc'), ['-p', 'tsconfig.shared.json']);
  step('typecheck main', bin('tsc'), ['-p', 'tsconfig.main.json']);
  step('typecheck renderer', bin('svelte-check'), [
    '--tsconfig',
    'tsconfig.renderer.json',
    '--fail-on-warnings',
    '--output',
    'human',
  ]);
  step('lint', bin('eslint'), ['.']);
  step('format', bin('prettier'), ['--check', '.']);
  // Exports nothing imports (knip.json: entries are the shells, workers, benches, scripts and tests).
  step('unused exports', bin('knip'), ['--no-progress']);
}
const built = step('build', 'npm', ['run', 'build', '--silent']);

const report = join(root, 'test-results', 'vitest.json');
mkdirSync(join(root, 'test-results'), { recursive: true });
rmSync(report, { force: true });
const projects = args.length
  ? args
  : ['--project', 'unit', '--project', 'pipeline', ...(built ? ['--project', 'e2e'] : [])];
process.stdout.write(`\n=== vitest ${projects.join(' ')}\n`);
spawnSync(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...projects], {
  cwd: root,
  stdio: 'inherit',
});
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  // A test file that fails to load has no failed test but must fail the run.
  const brokenFiles = r.testResults.filter(
    (f) => f.status === 'failed' && f.assertionResults.every((a) => a.status !== 'failed'),
  );
  for (const f of brokenFiles) {
    failed++;
    failures.push(`${f.name}: ${String(f.message).split('\n')[0]}`);
  }
  for (const f of r.testResults)
    for (const a of f.assertionResults) if (a.status === 'failed') failures.push(a.fullName);
} catch (e) {
  failed++;
  failures.push(`vitest produced no report (${e.message})`);
}

if (failures.length) process.stdout.write(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
process.exitCode = failed > 0 ? 1 : 0;
