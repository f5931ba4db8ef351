/** The browser-mode server as the server tests start it, and a trap for what would crash it. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServer, type RunningServer } from '../../src-main/server/server';
import { SettingsStore } from '../../src-main/services/settings';

/**
 * The server on a free port of 127.0.0.1 over `roots`, with a one-line page in `<dir>/static/index.html` and its
 * settings in `<dir>/settings.json`.
 */
export async function startTestServer(dir: string, roots: string[]): Promise<RunningServer> {
  await mkdir(join(dir, 'static'));
  await writeFile(join(dir, 'static', 'index.html'), '<!doctype html><title>t</title>');
  return startServer({
    staticDir: join(dir, 'static'),
    roots,
    port: 0,
    settings: new SettingsStore(join(dir, 'settings.json')),
  });
}

/**
 * Collects this process's uncaught exceptions and unhandled rejections in `crashes` until `release()`: a request
 * that crashes the server shows up there (outside the test runner the server would have exited).
 */
export function trapCrashes(): { crashes: unknown[]; release(): void } {
  const crashes: unknown[] = [];
  const trap = (e: unknown) => void crashes.push(e);
  process.on('uncaughtException', trap);
  process.on('unhandledRejection', trap);
  return {
    crashes,
    release: () => {
      process.off('uncaughtException', trap);
      process.off('unhandledRejection', trap);
    },
  };
}
