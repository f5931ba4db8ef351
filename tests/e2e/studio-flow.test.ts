/**
 * The studio's whole flow in browser mode, driven in Debian's Chromium at 1440x900: create a project from the
 * quick pair (identities with consent), extract A and B, delete 3 faces in the grid with "also skip in
 * conversion" (files move to the trash, the training set shrinks by 3), train a small model (preview image and
 * loss chart update; Save now shows the saved iteration while training runs; Stop reads "Stopped (saved at
 * iteration N)"), move a convert slider (the preview changes), convert the clip (the output is listed, the
 * quality report's summary says how many frames stayed original), reload the tab (the project and the job list
 * stay). Any page error or console error fails the step it happened in. Steps whose backend stage is not
 * registered yet are skipped, saying so. A screenshot of every view is kept in tests/artifacts/e2e/.
 */
import { readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium, pickFile } from '../helpers/browser';
import { openStudioPage, shot, type StudioPage } from '../helpers/studio';
import { hasTestdata, videos } from '../helpers/testdata';
import { findStage } from '../../src-main/engine/registry';

const pngs = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.png'));

describe.skipIf(!hasChromium || !hasTestdata)('studio flow in browser mode', () => {
  let studioPage: StudioPage | undefined;
  let page: Page;
  let root: string;
  let projectDir: string;
  let errors: string[] = [];

  beforeAll(async () => {
    studioPage = await openStudioPage('fss-flow-');
    ({ root, page, errors } = studioPage);
  });

  // Each step owns the page errors and console errors it caused.
  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });

  afterAll(() => studioPage?.close());

  it('creates a project with identities A and B, their sources and consent', async () => {
    await page.locator('#proj-name').fill('flow');
    await page.locator('#proj-loc').fill(root);
    await page.locator('#id-A-name').fill('Alice');
    await page.locator('#id-B-name').fill('Bob');
    await pickFile(page, 'add-source-A', videos.personA);
    await pickFile(page, 'add-source-B', videos.personB);
    await page.locator('#id-A-agreed').fill('Alice Example <alice@example.org>');
    await page.locator('#id-A-note').fill('signed release form, kept in the studio archive');
    await page.locator('#id-B-agreed').fill('Bob Example');
    await shot(page, 'projects-new');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByTestId('project-summary').waitFor();
    projectDir = join(root, 'flow');
    const saved = JSON.parse(await readFile(join(projectDir, 'project.json'), 'utf8')) as {
      identities: Record<string, { sources: string[]; consent: { agreedBy: string; note: string } }>;
    };
    expect(saved.identities.A?.sources).toEqual([await realpath(videos.personA)]); // the studio stores real paths
    expect(saved.identities.A?.consent.agreedBy).toBe('Alice Example <alice@example.org>');
    expect(saved.identities.B?.consent.agreedBy).toBe('Bob Example');
    await expect.poll(() => page.getByTestId('recent-projects').innerText()).toContain('flow');
    await shot(page, 'projects');
  });

  it.skipIf(!findStage('extract'))('extracts the faces of A and B with progress', async () => {
    await page.getByTestId('nav-extract').click();
    await page.locator('#extract-everyN').fill('6');
    await page.locator('#extract-everyN').blur();
    await page.getByTestId('extract-run').click();
    await page.getByTestId('job-extract').first().waitFor();
    await shot(page, 'extract-running');
    await expect
      .poll(async () => page.locator('[data-testid="job-extract"][data-state="done"]').count(), {
        timeout: 240_000,
        interval: 1000,
      })
      .toBe(2);
    const a = await pngs(join(projectDir, 'faces', 'A'));
    const b = await pngs(join(projectDir, 'faces', 'B'));
    expect(a.length).toBeGreaterThan(5);
    expect(b.length).toBeGreaterThan(5);
    await expect.poll(() => page.getByTestId('extract-count-A').innerText()).toBe(String(a.length));
    await expect.poll(() => page.getByTestId('extract-count-B').innerText()).toBe(String(b.length));
    await shot(page, 'extract');
  });

  it.skipIf(!findStage('extract'))('deletes 3 faces in the grid to the trash, and undo is offered', async () => {
    const facesA = join(projectDir, 'faces', 'A');
    const before = await pngs(facesA);
    await page.getByTestId('nav-faces').click();
    const grid = page.getByTestId('faces-grid');
    await expect.poll(() => grid.getAttribute('data-count')).toBe(String(before.length));
    const cells = grid.locator('[role=gridcell]');
    await cells.nth(0).click();
    await cells.nth(2).click({ modifiers: ['Shift'] });
    await expect(page.getByTestId('faces-status').innerText()).resolves.toContain('3 selected');
    const picked = await grid
      .locator('[role=gridcell][aria-selected=true]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
    expect(picked).toHaveLength(3);
    await shot(page, 'faces');
    await page.keyboard.press('Delete');
    await page.getByTestId('faces-delete-dialog').getByText('Also skip in conversion').click();
    await expect.poll(async () => (await pngs(facesA)).length).toBe(before.length - 3);
    // The files are in the project trash, and the training set (the faces folder) shrank by 3.
    const batches = await readdir(join(projectDir, 'trash'));
    expect(batches).toHaveLength(1);
    expect((await readdir(join(projectDir, 'trash', batches[0] as string, 'A'))).sort()).toEqual([...picked].sort());
    await expect.poll(() => grid.getAttribute('data-count')).toBe(String(before.length - 3));
    expect(await page.getByTestId('faces-undo').isEnabled()).toBe(true);
    await shot(page, 'faces-after-delete');
    // Sorting by the alignments' metadata: the blurriest face comes first.
    const blurOption = page.getByTestId('faces-sort').locator('option[value="blur"]');
    await expect.poll(() => blurOption.isDisabled(), { timeout: 30_000 }).toBe(false);
    const firstNames = () =>
      grid.locator('[role=gridcell]').evaluateAll((els) => els.slice(0, 8).map((e) => e.getAttribute('data-name')));
    const byName = await firstNames();
    await page.getByTestId('faces-sort').selectOption('blur');
    await expect.poll(firstNames).not.toEqual(byName);
    // The sort's score is on each tile.
    await expect.poll(() => grid.getByTestId('face-score').count()).toBeGreaterThan(0);
    await shot(page, 'faces-sorted');
    await page.getByTestId('faces-sort').selectOption('name');
  });

  it.skipIf(!findStage('train'))(
    'trains a small model: preview and loss chart update, Save now shows the save at once, Stop says where it saved',
    async () => {
      await page.getByTestId('nav-train').click();
      await page.locator('#train-trainer').selectOption('lightweight');
      await page.locator('#train-batchSize').fill('4');
      await page.locator('#train-iterations').fill('400');
      await page.locator('#train-saveEvery').fill('1000');
      await page.locator('#train-previewEvery').fill('2');
      await page.locator('#train-iterations').blur();
      await page.getByTestId('train-start').click();
      await page.getByTestId('train-preview').waitFor({ timeout: 240_000 });
      const firstSeq = Number(await page.getByTestId('train-preview').getAttribute('data-seq'));
      await expect
        .poll(async () => Number(await page.getByTestId('loss-chart').getAttribute('data-points')), {
          timeout: 240_000,
        })
        .toBeGreaterThan(1);
      await expect
        .poll(async () => Number(await page.getByTestId('train-preview').getAttribute('data-seq')), {
          timeout: 240_000,
        })
        .toBeGreaterThan(firstSeq);
      const d = await page.getByTestId('loss-a').getAttribute('d');
      expect(d).toMatch(/^M[\d.]+ [\d.]+ L/);
      // No regular save before iteration 1000: what "saved model" shows comes from Save now, while training runs.
      expect(await page.getByTestId('train-saved').innerText()).toBe('none');
      await page.getByTestId('train-save').click();
      await expect
        .poll(() => page.getByTestId('train-saved').innerText(), { timeout: 120_000 })
        .toMatch(/^iteration \d+$/);
      expect(await page.locator('[data-testid="job-train"][data-state="running"]').count()).toBeGreaterThan(0);
      await shot(page, 'train');
      await page.getByTestId('train-stop').click();
      const stopped = page.getByTestId('train-stopped');
      await expect.poll(() => stopped.count(), { timeout: 240_000 }).toBe(1);
      expect(await stopped.innerText()).toMatch(/^Stopped \(saved at iteration \d+\)/);
      const savedAt = Number(/iteration (\d+)/.exec(await stopped.innerText())?.[1]);
      await expect.poll(() => page.getByTestId('train-saved').innerText()).toBe(`iteration ${savedAt}`);
      await shot(page, 'train-stopped');
    },
  );

  it.skipIf(!findStage('train') || !findStage('convert'))(
    'moves a convert slider and the preview changes; converts the clip',
    async () => {
      await page.getByTestId('nav-convert').click();
      await expect(page.getByTestId('synthetic-label').innerText()).resolves.toContain('synthetic media');
      const preview = page.getByTestId('convert-preview');
      await preview.waitFor({ timeout: 240_000 });
      // Frame 60: its face was extracted and kept (the faces deleted above are frames 0, 6 and 12, which convert skips).
      const first = await preview.getAttribute('src');
      await page.getByLabel('Frame number').fill('60');
      await expect.poll(() => preview.getAttribute('src'), { timeout: 240_000 }).not.toBe(first);
      const before = await preview.getAttribute('src');
      await page.locator('#convert-live-erosion').fill('20');
      await page.locator('#convert-live-erosion').blur();
      await expect.poll(() => preview.getAttribute('src'), { timeout: 240_000 }).not.toBe(before);
      // Frames of the faces deleted with "also skip in conversion" stay original; the view says so.
      await expect(page.getByTestId('convert-kept-original').innerText()).resolves.toContain(
        '3 frames of this clip will stay original',
      );
      // At 1440x900 the controls sit beside the image: both visible together.
      for (const id of ['convert-preview', 'convert-original', 'convert-run'])
        await expect.poll(() => page.getByTestId(id).isVisible()).toBe(true);
      const box = await preview.boundingBox();
      const controls = await page.locator('#convert-live-erosion').boundingBox();
      expect(box && controls && controls.x > box.x + box.width && controls.y + controls.height <= 900).toBe(true);
      await shot(page, 'convert');
      await page.getByTestId('convert-show-swapped').click();
      await preview.click(); // zoom
      await shot(page, 'convert-swapped-zoom');
      await preview.click();
      // The mask view: white where the new face goes over the frame at a quarter brightness (at most 63).
      const swappedSrc = await preview.getAttribute('src');
      await page.getByTestId('convert-show-mask').click();
      await expect.poll(() => preview.getAttribute('src'), { timeout: 120_000 }).not.toBe(swappedSrc);
      const brightShare = () =>
        page.evaluate<[number, number]>(`(() => {
        const img = document.querySelector('[data-testid="convert-preview"]');
        const c = document.createElement('canvas');
        c.width = 64;
        c.height = 64;
        const g = c.getContext('2d');
        g.drawImage(img, 0, 0, 64, 64);
        const d = g.getImageData(0, 0, 64, 64).data;
        let white = 0, dark = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] > 200 && d[i + 1] > 200 && d[i + 2] > 200) white++;
          else if (Math.max(d[i], d[i + 1], d[i + 2]) <= 70) dark++;
        }
        return [white / (64 * 64), dark / (64 * 64)];
      })()`);
      // Some of the frame is face (white; the mask is eroded by 20 % here), most of it is the dimmed frame.
      await expect.poll(async () => (await brightShare())[0]).toBeGreaterThan(0.005);
      expect((await brightShare())[1]).toBeGreaterThan(0.5);
      await shot(page, 'convert-mask');
      await page.getByTestId('convert-show-both').click();
      await page.getByTestId('convert-run').click();
      // A failed job ends the wait at once, with its message.
      const outputsOrFailure = async () =>
        (await page.locator('[data-testid="job-convert"][data-state="failed"]').count())
          ? `failed: ${await page.getByTestId('job-convert').first().innerText()}`
          : page.getByTestId('convert-outputs').innerText();
      // The quality report after the frames has its own progress bar (not a stuck 99 %).
      const phaseOrFailure = async () =>
        (await page.locator('[data-testid="job-convert"][data-state="failed"]').count())
          ? `failed: ${await page.getByTestId('job-convert').first().innerText()}`
          : (await page.getByTestId('job-phase').count())
            ? page.getByTestId('job-phase').first().innerText()
            : '';
      await expect.poll(phaseOrFailure, { timeout: 480_000, interval: 250 }).toMatch(/^Quality report/);
      await shot(page, 'convert-quality-report-progress');
      await expect.poll(outputsOrFailure, { timeout: 540_000, interval: 1000 }).toContain('_swapped.mp4');
      const out = await readdir(join(projectDir, 'output'));
      expect(out.some((n) => n.endsWith('_swapped.mp4'))).toBe(true);
      // The conversion's quality report (evaluate) is written beside it and shown.
      expect(out.some((n) => n.endsWith('_swapped.mp4.quality.json'))).toBe(true);
      // The summary first, in words; the numbers under it.
      await expect
        .poll(() => page.getByTestId('quality-summary').innerText(), { timeout: 60_000 })
        .toMatch(/\d+ of 216 frames have a swapped face; \d+ stay original \(3 of them skipped in curation\)/);
      await page.getByTestId('quality-report').getByText('The numbers').click();
      await expect(page.getByTestId('quality-report').innerText()).resolves.toContain('identity.similarityToTarget');
      await expect(page.getByTestId('content-credentials').innerText()).resolves.toMatch(
        /C2PA Content Credentials embedded, signed by CN=Faceswap Studio/,
      );
      await shot(page, 'convert-done');
    },
    600_000,
  );

  it('a reload keeps the project, the view and the job list; jobs offer retry and their output', async () => {
    await page.getByTestId('nav-jobs').click();
    await page.getByTestId('jobs-list').waitFor();
    await page.reload();
    await expect.poll(() => page.getByTestId('current-project').innerText()).toBe('flow');
    await page.getByTestId('jobs-list').waitFor();
    const list = page.getByTestId('jobs-list');
    if (findStage('extract')) await expect.poll(() => list.getByTestId('job-extract').count()).toBe(2);
    if (findStage('convert') && findStage('train')) {
      await expect.poll(() => list.getByTestId('job-open-output').count()).toBeGreaterThan(0);
      expect(await list.getByTestId('job-retry').count()).toBeGreaterThan(0);
    }
    await shot(page, 'jobs');
    await page.getByTestId('nav-projects').click();
    await expect.poll(() => page.getByTestId('pipeline').innerText()).toContain('A ');
    await shot(page, 'projects-pipeline');
  });

  it('shows the settings view', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByRole('heading', { name: 'Settings' }).waitFor();
    await page.getByTestId('doctor').last().waitFor({ timeout: 120_000 });
    await shot(page, 'settings');
  });
});
