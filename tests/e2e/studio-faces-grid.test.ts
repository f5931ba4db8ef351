/**
 * The faces grid with 10,000 thumbnails in Chromium: it renders only the visible cells, loads only their images,
 * and scrolls to the end with DOM nodes and JS heap staying bounded (measured and written to
 * tests/artifacts/e2e/faces-grid-10k.json).
 */
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { hasChromium, launchChromium } from '../helpers/browser';
import { startStudio, type StartedStudio } from '../helpers/studio';
import { repoRoot } from '../helpers/testdata';
import { createProject } from '../../src-main/engine/project/project';

const artifacts = join(repoRoot, 'tests', 'artifacts', 'e2e');
const N = 10_000;

describe.skipIf(!hasChromium)('faces grid with 10,000 faces', () => {
  let studio: StartedStudio;
  let browser: Browser;
  let root: string;
  let dir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fss-grid-'));
    await mkdir(artifacts, { recursive: true });
    dir = join(root, 'big');
    const consent = { agreedBy: 'test', note: '' };
    await createProject({
      dir,
      name: 'big',
      identities: { A: { name: 'A', sources: [], consent }, B: { name: 'B', sources: [], consent } },
    });
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 120, g: 90, b: 80 } } })
      .png()
      .toBuffer();
    const first = join(dir, 'faces', 'A', 'clip_000000_0.png');
    await writeFile(first, png);
    for (let i = 1; i < N; i++) await link(first, join(dir, 'faces', 'A', `clip_${String(i).padStart(6, '0')}_0.png`));
    process.env.FSS_CONFIG_DIR = join(root, 'config');
    studio = await startStudio(['--serve', '--port', '0', '--root', root]);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    expect(await studio?.stop()).toBe(0);
    await rm(root, { recursive: true, force: true });
  });

  it('renders and loads only the visible thumbnails and scrolls to the last face', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    let imageRequests = 0;
    page.on('request', (r) => {
      if (r.url().includes('/file?')) imageRequests++;
    });
    await page.goto(studio.loginUrl);
    await page.getByTestId('open-project').click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('input').fill(dir);
    await dialog.getByRole('button', { name: 'Go' }).click();
    await dialog.getByRole('button', { name: /project\.json/ }).waitFor(); // the folder's listing is shown
    await dialog.getByTestId('picker-this-folder').click();
    await page.getByTestId('project-summary').waitFor();
    await page.getByTestId('nav-faces').click();
    const grid = page.getByTestId('faces-grid');
    await expect.poll(() => grid.getAttribute('data-count')).toBe(String(N));
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const measure = async () => {
      const { metrics } = (await cdp.send('Performance.getMetrics')) as {
        metrics: Array<{ name: string; value: number }>;
      };
      const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
      return {
        cells: await grid.locator('[role=gridcell]').count(),
        domNodes: await page.evaluate<number>("document.getElementsByTagName('*').length"),
        jsHeapMB: Math.round(((m.JSHeapUsedSize ?? 0) / 2 ** 20) * 10) / 10,
        imageRequests,
      };
    };
    await page.waitForTimeout(500);
    const atTop = await measure();
    // Scroll through the whole grid in steps, like a user flinging the wheel.
    const frames: number[] = [];
    const height = await grid.evaluate((el) => el.scrollHeight);
    for (let y = 0; y <= height; y += 4000) {
      const t0 = Date.now();
      await grid.evaluate((el, top) => {
        el.scrollTop = top;
      }, y);
      await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
      frames.push(Date.now() - t0);
    }
    await grid.evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.waitForTimeout(500);
    const atEnd = await measure();
    const last = `clip_${String(N - 1).padStart(6, '0')}_0.png`;
    await expect.poll(() => grid.locator(`[data-name="${last}"]`).count()).toBe(1);
    // Its image is the small cached thumbnail, made when it came into view.
    await expect
      .poll(() => grid.locator(`[data-name="${last}"] img`).getAttribute('src'), { timeout: 30_000 })
      .toContain(encodeURIComponent('/cache/thumbs/A/'));
    await page.screenshot({ path: join(artifacts, 'faces-10k.png') });
    const report = {
      faces: N,
      atTop,
      atEnd,
      scrollSteps: frames.length,
      maxStepMs: Math.max(...frames),
      medianStepMs: frames.sort((a, b) => a - b)[Math.floor(frames.length / 2)],
    };
    await writeFile(join(artifacts, 'faces-grid-10k.json'), `${JSON.stringify(report, null, 2)}\n`);
    console.log('faces grid 10k:', JSON.stringify(report));
    for (const m of [atTop, atEnd]) {
      expect(m.cells).toBeLessThan(400);
      expect(m.domNodes).toBeLessThan(2_000);
    }
    // Only the rows scrolled past were requested, not all 10,000 (the step skips most rows).
    expect(atEnd.imageRequests).toBeLessThan(N / 2);
    expect(atEnd.jsHeapMB).toBeLessThan(100);
    await page.close();
  });
});
