// The same shell in a real Electron window, where an Electron binary is present. On machines without one
// (this project's CI cannot download it), the test is skipped and says why.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { _electron as electron } from 'playwright-core';
import { electronFacts } from '../../src-main/engine/doctor';
import { repoRoot } from '../helpers/testdata';

const facts = electronFacts();
if (!facts.found) console.log(`electron e2e skipped: ${facts.error ?? 'no Electron binary'}`);

describe.skipIf(!facts.found)('studio shell in Electron', () => {
  it('opens a sandboxed window that shows the doctor facts', async () => {
    const app = await electron.launch({
      executablePath: facts.path,
      args: [join(repoRoot, 'dist', 'electron', 'main.mjs')],
    });
    try {
      const page = await app.firstWindow();
      await page.getByTestId('doctor').waitFor({ timeout: 120_000 });
      expect(await page.getByTestId('doctor').innerText()).toContain('ffmpeg');
      // No Node in the page: the preload exposes only the typed bridge.
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      expect(await page.evaluate(() => Object.keys((globalThis as unknown as { fss: object }).fss).sort())).toEqual([
        'invoke',
        'onEvent',
      ]);
      await page.screenshot({ path: join(repoRoot, 'tests', 'artifacts', 'e2e', 'electron-shell.png') });
    } finally {
      await app.close();
    }
  });
});
