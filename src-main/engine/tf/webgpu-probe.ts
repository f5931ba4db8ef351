/**
 * Whether Dawn (the `webgpu` package) finds any adapter here, asked of a short-lived child process whose stderr
 * is swallowed. Dawn writes a warning for every Vulkan driver it cannot use (`Vulkan shaderUniform*Array...
 * required`, `XDG_RUNTIME_DIR is invalid`) straight to file descriptor 2, where no JavaScript can filter it; on a
 * machine without a usable GPU every train, convert and doctor run printed them. Asking a child first means
 * this process loads Dawn only when there is an adapter to use.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// CommonJS for `node -e`; the module path is passed in, so the child resolves nothing from its own cwd.
const CHILD = `
const m = require(process.argv[1]);
Object.assign(globalThis, m.globals);
m.create([]).requestAdapter({ powerPreference: 'high-performance' }).then(
  (a) => process.stdout.write(JSON.stringify({ adapter: a !== null && !/null-backend/i.test(String(a.info?.vendor) + ' ' + String(a.info?.description)) })),
  (e) => process.stdout.write(JSON.stringify({ adapter: false, error: String(e) })),
).finally(() => process.exit(0));
`;

let cached: boolean | undefined;

/** True when a child process found a (non-null) WebGPU adapter, or when it could not tell (then ask in-process). */
export function webgpuAdapterLikely(): boolean {
  if (cached !== undefined) return cached;
  let modulePath: string;
  try {
    modulePath = require.resolve('webgpu');
  } catch {
    return (cached = true); // the in-process probe reports why it cannot load
  }
  const r = spawnSync(process.execPath, ['-e', CHILD, modulePath], {
    encoding: 'utf8',
    timeout: 30_000,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  try {
    cached = (JSON.parse(r.stdout) as { adapter: boolean }).adapter;
  } catch {
    cached = true; // the child crashed or timed out: let the in-process probe say what is wrong
  }
  return cached;
}
