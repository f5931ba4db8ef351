/**
 * `npm start`: the studio in an Electron window, or, where no Electron binary can be had (or with --serve),
 * the same studio served to a browser on 127.0.0.1 behind a per-run token.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { appRoot } from '../engine/app-info';
import { electronFacts } from '../engine/doctor';
import { startServer } from '../server/server';

export interface StartOptions {
  serve: boolean;
  port: number;
  host: string;
  roots: string[];
}

export const rendererDir = join(appRoot, 'dist', 'renderer');
const electronMain = join(appRoot, 'dist', 'electron', 'main.mjs');

export async function start(opts: StartOptions): Promise<void> {
  if (!opts.serve) {
    const why = await electronUnavailable();
    if (!why) return runElectron();
    console.log(`Electron binary not available (${why}); serving the studio to your browser instead.`);
  }
  await ensureBuilt();
  const server = await startServer({
    staticDir: rendererDir,
    host: opts.host,
    port: opts.port,
    roots: opts.roots.length ? opts.roots : [homedir()],
  });
  if (!['127.0.0.1', 'localhost', '::1'].includes(opts.host)) {
    console.log(
      `warning: listening on ${opts.host}, reachable from other machines; anyone with the URL below can use the studio`,
    );
  }
  console.log(`Faceswap Studio is at ${server.loginUrl}  (Ctrl+C to stop)`);
  await new Promise<void>((resolveStop) => {
    const stop = () => void server.close().then(resolveStop);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('SIGHUP', stop); // a closed terminal: jobs are cancelled (training saves) before the exit
  });
}

/** Undefined when an Electron binary is there (downloading it once if it can be); otherwise the reason. */
async function electronUnavailable(): Promise<string | undefined> {
  let facts = electronFacts();
  if (facts.found) return undefined;
  if (facts.version) {
    // electron >= 45 downloads its binary on first use; try once, quietly and briefly.
    const install = join(appRoot, 'node_modules', 'electron', 'install.js');
    spawnSync(process.execPath, [install], { stdio: 'ignore', timeout: 120_000 });
    facts = electronFacts();
    if (facts.found) return undefined;
    return `electron ${facts.version}'s binary could not be downloaded`;
  }
  return facts.error ?? 'not installed';
}

async function ensureBuilt(): Promise<void> {
  if (existsSync(join(rendererDir, 'index.html'))) return;
  console.log('Building the studio (first start)...');
  const r = spawnSync(
    process.execPath,
    [join(appRoot, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'error'],
    { cwd: appRoot, stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('building the studio failed (see above)');
}

async function runElectron(): Promise<void> {
  await ensureBuilt();
  if (!existsSync(electronMain)) {
    const r = spawnSync('npm', ['run', 'build:electron'], { cwd: appRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('building the Electron shell failed (see above)');
  }
  const bin = electronFacts().path as string;
  const child = spawn(bin, [electronMain], { stdio: 'inherit' });
  await new Promise<void>((ok) => child.on('exit', () => ok()));
}
