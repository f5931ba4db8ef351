/** Debian's Chromium driven by playwright-core, with the flags this closed network needs. */
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { expect } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = process.env.FSS_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = existsSync(chromiumPath);

if (!hasChromium && process.env.CI === 'true') {
  throw new Error(`Chromium not found at ${chromiumPath}; .ci/run installs it with apt-get`);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Collects everything a page reports as broken: uncaught exceptions (`pageerror`, e.g. Svelte's
 * effect_update_depth_exceeded) and console errors (including failed resource loads). A flow test asserts the
 * list is empty after each step, so any of them fails it.
 */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error')
      errors.push(`console.error: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
  });
  return errors;
}

/** Chooses `file` through the studio's path picker opened by the button `button` (a data-testid), as a person does. */
export async function pickFile(page: Page, button: string, file: string): Promise<void> {
  await page.getByTestId(button).click();
  const dialog = page.locator('dialog[open]');
  await dialog.locator('input').fill(dirname(file));
  await dialog.getByRole('button', { name: 'Go' }).click();
  await dialog.getByRole('button', { name: basename(file), exact: true }).dblclick();
  await expect.poll(() => page.locator('dialog[open]').count()).toBe(0);
}
