/**
 * Setup file of every vitest project. With FSS_TEST_CPU=<folder> each test file writes
 * `<folder>/<path with __ for />.json`: its wall seconds and the CPU seconds of its worker process (every thread:
 * tfjs workers, SwiftShader) and of the child processes it waited for (ffmpeg, Chromium, the studio, CLI runs),
 * from its imports to its last afterAll. The ratio says how many cores a file keeps busy, which is what the
 * scheduling in vitest.config.ts is about. Without the variable it does nothing.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, expect } from 'vitest';
import { writeFileAtomicSafe } from '../../src-main/engine/util/atomic-write';

const out = process.env.FSS_TEST_CPU;

/** CPU seconds of this process and of its reaped children (/proc/self/stat's cutime + cstime; 0 off Linux). */
function cpuSeconds(): { self: number; children: number } {
  const u = process.cpuUsage();
  let children = 0;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
    children = (Number(fields[13]) + Number(fields[14])) / 100; // cutime, cstime: clock ticks, 100 per second
  } catch {
    // no /proc: children stay 0
  }
  return { self: (u.user + u.system) / 1e6, children };
}

if (out) {
  const wall0 = performance.now();
  const cpu0 = cpuSeconds();
  afterAll(async () => {
    const cpu = cpuSeconds();
    const file = relative(process.cwd(), expect.getState().testPath ?? 'unknown').replaceAll('\\', '/');
    const wallS = (performance.now() - wall0) / 1000;
    const selfS = cpu.self - cpu0.self;
    const childrenS = cpu.children - cpu0.children;
    const r = (v: number) => Math.round(v * 10) / 10;
    await mkdir(out, { recursive: true });
    await writeFileAtomicSafe(
      join(out, `${file.replaceAll('/', '__')}.json`),
      `${JSON.stringify({ file, wallS: r(wallS), cpuS: r(selfS + childrenS), selfS: r(selfS), childrenS: r(childrenS), cores: r((selfS + childrenS) / wallS) })}\n`,
      { fsync: false },
    );
  });
}
