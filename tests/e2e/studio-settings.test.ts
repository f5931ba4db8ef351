// Issue 13 bug 5: Settings checks the ffmpeg path on Save, shows the result at once and refuses what fails.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { resolveFfmpeg } from '../../src-main/engine/media/ffmpeg';
import { hasChromium, launchChromium, watchPageErrors } from '../helpers/browser';
import { startStudio, type StartedStudio } from '../helpers/studio';
import { repoRoot } from '../helpers/testdata';

const artifacts = join(repoRoot, 'tests', 'artifacts', 'e2e');

describe.skipIf(!hasChromium)('settings view: the ffmpeg path is checked on Save', () => {
  let studio: StartedStudio;
  let browser: Browser;
  let page: Page;
  let root: string;
  let errors: string[];
  const settingsFile = () => join(root, 'config', 'settings.json');

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fss-settings-'));
    await mkdir(join(root, 'config'));
    await writeFile(join(root, 'notes.txt'), 'my notes, not a program\n');
    await copyFile((await resolveFfmpeg()).path, join(root, 'ffmpeg'));
    await chmod(join(root, 'ffmpeg'), 0o755);
    process.env.FSS_CONFIG_DIR = join(root, 'config');
    studio = await startStudio(['--serve', '--port', '0', '--root', root]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    errors = watchPageErrors(page);
    await page.goto(studio.loginUrl);
    await page.getByTestId('nav-settings').click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    delete process.env.FSS_CONFIG_DIR;
    await rm(root, { recursive: true, force: true });
  });

  it('refuses a text file with the reason, and saves nothing', async () => {
    await page.locator('#set-ffmpeg').fill(join(root, 'notes.txt'));
    await page.getByRole('button', { name: 'Save' }).click();
    const check = page.getByTestId('ffmpeg-check');
    await expect
      .poll(() => check.innerText(), { timeout: 30_000 })
      .toMatch(/^Not saved: .*notes\.txt: not an executable/);
    expect(await page.locator('#set-ffmpeg').getAttribute('aria-invalid')).toBe('true');
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'settings-ffmpeg-refused.png') });
    expect(existsSync(settingsFile()) ? await readFile(settingsFile(), 'utf8') : '').not.toContain('notes.txt');
    await page.reload();
    await page.getByTestId('nav-settings').click();
    await expect.poll(() => page.locator('#set-ffmpeg').inputValue(), { timeout: 30_000 }).toBe('');
    expect(errors).toEqual([]);
  });

  it('accepts a real ffmpeg and says which version it found', async () => {
    await page.locator('#set-ffmpeg').fill(join(root, 'ffmpeg'));
    await page.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => page.getByTestId('ffmpeg-check').innerText(), { timeout: 30_000 })
      .toMatch(/^ffmpeg \S+ found$/);
    expect(JSON.parse(await readFile(settingsFile(), 'utf8')).ffmpegPath).toBe(join(root, 'ffmpeg'));
    expect(errors).toEqual([]);
  });
});
