/**
 * `npm run gpu-check`: is this machine ready to train on its GPU, and how fast? Runs doctor, then, on every GPU
 * backend present (`tensorflow` on CUDA, `webgpu` on a hardware adapter: NVIDIA, AMD, Intel or Apple through
 * Vulkan, D3D12 or Metal), the train bench (lightweight, original, masked128 and sae at batch 8 and 16) and the
 * convert bench, and prints ONE JSON document on stdout (documented in docs/performance.md, "gpu-check").
 * Readable lines go to stderr. With no GPU backend it says why (a software adapter, nothing installed) and exits 0.
 *
 *   --include-software   also bench a software WebGPU adapter (SwiftShader, lavapipe: slow; to test this script)
 *   --trainers a,b       only these trainers (default lightweight,original,masked128,sae)
 *   --no-convert         skip the convert bench
 * FSS_BENCH_SECONDS sets the seconds measured per train point (default 20).
 */
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { DoctorReport } from '../src-shared/doctor';
import { doctorLines } from '../src-shared/doctor';
import { runDoctor } from '../src-main/engine/doctor';
import { availableBackends, type BackendProbe, type TfBackendName } from '../src-main/engine/tf/backend';

const CONVERT_CHILD = '--gpu-check-convert-child';
const CONVERT_BENCHES = ['convert.preview.720p', 'convert.480p', 'convert.720p'];

interface BenchResult {
  name: string;
  description?: string;
  ok: boolean;
  result?: Record<string, unknown>;
  error?: string;
  wallMs: number;
}

export interface GpuCheckReport {
  kind: 'gpu-check';
  version: 1;
  date: string;
  machine: { cpus: number; cpuModel?: string; memoryGiB: number; node: string; platform: string };
  doctor: DoctorReport;
  /** The GPU backends benched, with the device each runs on. */
  gpuBackends: Array<{ backend: TfBackendName; device: string; software: boolean }>;
  /** Backends not benched, and why. */
  notBenched: Array<{ backend: TfBackendName; reason: string }>;
  /** One line: what was found. */
  summary: string;
  /** bench/train.bench.ts results: `train.<trainer>.<backend>`, each with batch8 and batch16. */
  train: BenchResult[];
  /** bench/convert.bench.ts results per backend (the backend the model runs on). */
  convert: Array<{ backend: TfBackendName; results: BenchResult[] }>;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A GPU backend is tensorflow with a CUDA provider, or webgpu on a hardware adapter (or any, when asked). */
function gpuOf(p: BackendProbe, includeSoftware: boolean): { device: string; software: boolean } | string {
  if (!p.available) return p.detail ?? 'not available';
  if (p.name === 'tensorflow')
    return p.gpu ? { device: p.gpu, software: false } : `${p.detail ?? 'CPU build'}: not a GPU`;
  if (p.name !== 'webgpu') return 'a CPU backend';
  const software = p.software === true;
  if (software && !includeSoftware) {
    return `adapter is software (${p.adapter?.renderer ?? 'software renderer'}: ${p.adapter?.summary ?? p.gpu ?? ''}); slower than wasm`;
  }
  return { device: p.adapter?.summary ?? p.gpu ?? 'WebGPU adapter', software };
}

async function runBenches(
  benches: Array<{ name: string; description: string; run(): Promise<Record<string, unknown>> }>,
): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  for (const b of benches) {
    process.stderr.write(`bench ${b.name}...\n`);
    const t0 = performance.now();
    try {
      const result = await b.run();
      out.push({
        name: b.name,
        description: b.description,
        ok: true,
        result,
        wallMs: Math.round(performance.now() - t0),
      });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      out.push({
        name: b.name,
        description: b.description,
        ok: false,
        error,
        wallMs: Math.round(performance.now() - t0),
      });
    }
    const last = out[out.length - 1];
    process.stderr.write(`  ${JSON.stringify(last?.result ?? last?.error)}\n`);
  }
  return out;
}

/** The convert bench in a child process per backend (its set-up is cached per process). */
function convertOn(backend: TfBackendName): Promise<BenchResult[]> {
  return new Promise((resolve) => {
    const self = fileURLToPath(import.meta.url);
    const p = spawn(process.execPath, ['--import', 'tsx', self, CONVERT_CHILD], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, FSS_BACKEND: backend },
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as BenchResult[]);
      } catch {
        resolve([{ name: 'convert', ok: false, error: `convert bench exited with code ${code}`, wallMs: 0 }]);
      }
    });
  });
}

async function main(): Promise<void> {
  const includeSoftware = process.argv.includes('--include-software');
  const trainersWanted = arg('--trainers') ?? 'lightweight,original,masked128,sae';
  const log = (s: string) => process.stderr.write(`${s}\n`);

  const doctor = await runDoctor();
  for (const [name, value, ok] of doctorLines(doctor)) log(`${ok ? 'ok  ' : 'no  '}${name.padEnd(20)} ${value}`);

  const { probes } = await availableBackends();
  const gpuBackends: GpuCheckReport['gpuBackends'] = [];
  const notBenched: GpuCheckReport['notBenched'] = [];
  for (const p of probes) {
    const g = gpuOf(p, includeSoftware);
    if (typeof g === 'string') notBenched.push({ backend: p.name, reason: g });
    else gpuBackends.push({ backend: p.name, ...g });
  }
  const gpuReasons = notBenched.filter((n) => n.backend === 'webgpu' || n.backend === 'tensorflow');
  const summary =
    gpuBackends.length > 0
      ? `GPU backends: ${gpuBackends.map((g) => `${g.backend} on ${g.device}`).join('; ')}`
      : `no GPU backend: ${gpuReasons.map((n) => `${n.backend === 'webgpu' ? 'webgpu' : 'tensorflow'}: ${n.reason}`).join('; ')}`;
  log(summary);

  let train: BenchResult[] = [];
  const convert: GpuCheckReport['convert'] = [];
  if (gpuBackends.length > 0) {
    // bench/train.bench.ts reads its filters when it is imported.
    process.env.FSS_BENCH_BACKENDS = gpuBackends.map((g) => g.backend).join(',');
    process.env.FSS_BENCH_TRAINERS = trainersWanted;
    const { benches } = (await import('../bench/train.bench')) as { benches: Parameters<typeof runBenches>[0] };
    train = await runBenches(benches);
    if (!process.argv.includes('--no-convert')) {
      for (const g of gpuBackends) convert.push({ backend: g.backend, results: await convertOn(g.backend) });
    }
  }

  const report: GpuCheckReport = {
    kind: 'gpu-check',
    version: 1,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      ...(cpus()[0]?.model ? { cpuModel: cpus()[0]?.model } : {}),
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.versions.node,
      platform: `${process.platform}-${process.arch}`,
    },
    doctor,
    gpuBackends,
    notBenched,
    summary,
    train,
    convert,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const failed = [...train, ...convert.flatMap((c) => c.results)].filter((r) => !r.ok);
  process.exitCode = failed.length > 0 ? 1 : 0;
}

if (process.argv.includes(CONVERT_CHILD)) {
  const { benches } = (await import('../bench/convert.bench')) as { benches: Parameters<typeof runBenches>[0] };
  const results = await runBenches(benches.filter((b) => CONVERT_BENCHES.includes(b.name)));
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  await main();
}
