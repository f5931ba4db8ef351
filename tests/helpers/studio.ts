/**
 * Starts the studio exactly as `npm start -- --serve` does, and reads the URL it prints; `openStudioPage` adds a
 * scratch folder and Chromium on the studio's page (the end-to-end tests' common set-up).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { launchChromium, watchPageErrors } from './browser';
import { repoRoot, testdataDir } from './testdata';

/** Where the end-to-end tests keep their screenshots. */
export const e2eArtifacts = join(repoRoot, 'tests', 'artifacts', 'e2e');

/** A screenshot of the page's viewport as `<e2eArtifacts>/<name>.png`. */
export const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(e2eArtifacts, `${name}.png`), fullPage: false });

export interface StartedStudio {
  loginUrl: string;
  url: string;
  stdout: string[];
  process: ChildProcess;
  stop(): Promise<number | null>;
}

export async function startStudio(args: string[]): Promise<StartedStudio> {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'faceswap-studio.js'), 'start', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const loginUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`studio did not print its URL: ${stdout.join('')}`)), 120_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout.push(d);
      const m = /(http:\/\/\S+\?token=\S+)/.exec(stdout.join(''));
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => stdout.push(d));
    child.once('exit', (code) => reject(new Error(`studio exited with ${code}: ${stdout.join('')}`)));
  });
  return {
    loginUrl,
    url: loginUrl.replace(/\?token=.*$/, ''),
    stdout,
    process: child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill('SIGINT');
      }),
  };
}

export interface StudioPage {
  /** The scratch folder (its real path): the studio's `--root` besides the test data, settings in `config/`. */
  root: string;
  /** Chromium at 1440x900 on the studio's page, logged in. */
  page: Page;
  /** The page errors and console errors so far (a test splices out what it owns). */
  errors: string[];
  /** Closes Chromium, stops the studio (expecting exit code 0) and removes `root`. */
  close(): Promise<void>;
}

/**
 * The studio in browser mode over a new scratch folder (`mkdtemp` with `prefix`; recent projects and settings in
 * `<root>/config` through FSS_CONFIG_DIR), opened in Chromium. `prepare(root)` runs before the studio starts.
 */
export async function openStudioPage(prefix: string, prepare?: (root: string) => Promise<void>): Promise<StudioPage> {
  const root = await realpath(await mkdtemp(join(tmpdir(), prefix)));
  await mkdir(e2eArtifacts, { recursive: true });
  process.env.FSS_CONFIG_DIR = join(root, 'config');
  await prepare?.(root);
  const studio = await startStudio(['--serve', '--port', '0', '--root', root, testdataDir]);
  const browser = await launchChromium().catch(async (e: unknown) => {
    await studio.stop();
    throw e;
  });
  const close = async () => {
    await browser.close();
    expect(await studio.stop()).toBe(0);
    await rm(root, { recursive: true, force: true });
  };
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors = watchPageErrors(page);
    await page.goto(studio.loginUrl);
    return { root, page, errors, close };
  } catch (e) {
    await browser.close();
    await studio.stop();
    throw e;
  }
}
