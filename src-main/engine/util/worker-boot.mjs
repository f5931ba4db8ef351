// The one worker bootstrap (see worker-rpc.ts): workerData.entry is the file: URL of the worker's .ts module.
// A compiled .js beside it (built app) is loaded as is; otherwise tsx is registered and the .ts loaded (CLI in
// development, vitest).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { workerData } from 'node:worker_threads';

const entry = new URL(workerData.entry);
const js = new URL(entry.href.replace(/\.ts$/, '.js'));
if (js.href !== entry.href && existsSync(fileURLToPath(js))) {
  await import(js.href);
} else {
  if (entry.pathname.endsWith('.ts')) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  await import(entry.href);
}
