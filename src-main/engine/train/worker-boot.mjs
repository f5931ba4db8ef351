// Worker entry: loads the compiled module (<entry>.js) when it exists, else registers tsx and loads <entry>.ts,
// so the same code runs from the built app, under tsx (CLI in development) and under vitest.
// workerData.entry names the module in this folder: 'worker' (training) or 'feeder-worker' (batches).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { workerData } from 'node:worker_threads';

const entry = (workerData && workerData.entry) || 'worker';
const js = new URL(`./${entry}.js`, import.meta.url);
if (existsSync(fileURLToPath(js))) {
  await import(js.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL(`./${entry}.ts`, import.meta.url).href);
}
