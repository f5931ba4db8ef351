import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { hasChromium, launchChromium } from '../helpers/browser';
import { startStudio, type StartedStudio } from '../helpers/studio';
import { repoRoot } from '../helpers/testdata';

const artifacts = join(repoRoot, 'tests', 'artifacts', 'e2e');

describe.skipIf(!hasChromium)('studio shell in browser mode (npm start)', () => {
  let studio: StartedStudio;
  let browser: Browser;
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fss-e2e-'));
    await mkdir(artifacts, { recursive: true });
    // No --serve: on this machine there is no Electron binary, so `start` must fall back to browser mode by itself.
    studio = await startStudio(['--port', '0', '--root', root]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    expect(await studio?.stop()).toBe(0);
    await rm(root, { recursive: true, force: true });
  });

  it('says in one line why it serves to a browser, and prints a tokened 127.0.0.1 URL', (ctx) => {
    const out = studio.stdout.join('');
    if (!out.includes('Electron binary not available'))
      return ctx.skip('this machine has an Electron binary: start opens a window instead');
    expect(out.split('\n').filter((l) => l.includes('Electron binary not available'))).toHaveLength(1);
    expect(studio.loginUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
  });

  it('refuses a request without the token', async () => {
    const r = await fetch(studio.url);
    expect(r.status).toBe(401);
    expect(await r.text()).toContain('access token');
  });

  it('shows the doctor facts on the shell page', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const consoleErrors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    await page.goto(studio.loginUrl);
    expect(page.url()).not.toContain('token='); // traded for a cookie
    const doctor = page.getByTestId('doctor');
    await doctor.waitFor({ timeout: 120_000 });
    const text = await doctor.innerText();
    for (const fact of ['Node.js', 'Electron binary', 'ffmpeg', 'tfjs backends', 'tfjs backend chosen', 'Human models'])
      expect(text).toContain(fact);
    expect(text).toContain(process.versions.node);
    await expect.poll(() => page.getByTestId('app-version').innerText()).toMatch(/^v\d+\.\d+\.\d+/);
    await page.screenshot({ path: join(artifacts, 'shell-doctor.png'), fullPage: true });
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});
