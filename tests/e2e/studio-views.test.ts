/**
 * The studio's views without training (seconds, not minutes), in browser mode in Debian's Chromium, failing on
 * any page error or console error: the new-project form (a bad source refused with its reason, an empty name
 * marked, the form reset after creation), editing consent afterwards, a reload keeping the project, the Faces
 * view (thumbnails, delete with "also skip in conversion", undo per identity, large view), and the Convert view
 * (the probed frame count and rate of 25, 29.97 and 30 fps clips, frames left original, a bad target, the
 * Original pane showing exactly the frame asked for), named Convert presets (save, apply, delete), grouping faces
 * by pose from a real alignments file, and the faces trash (restore a batch, empty it after a confirmation).
 * Screenshots at 1440x900 in tests/artifacts/e2e/.
 */
import { copyFile, mkdir, readFile, readdir, realpath, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium, pickFile } from '../helpers/browser';
import { openStudioPage, shot, type StudioPage } from '../helpers/studio';
import { hasTestdata, td, videos } from '../helpers/testdata';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { parseAlignments } from '../../src-shared/formats/alignments';
import { parseOptions } from '../../src-shared/options';
import { extractStage } from '../../src-shared/stages/extract';
import { runExtract } from '../../src-main/engine/extract/run';
import { quietContext } from '../../src-main/engine/stage';

const stemOf = (p: string) => basename(p).replace(/\.[^.]+$/, '');

describe.skipIf(!hasChromium || !hasTestdata)('studio views in browser mode (no training)', () => {
  let studioPage: StudioPage | undefined;
  let page: Page;
  let root: string;
  let projectDir: string;
  let errors: string[];
  let fake: string;

  beforeAll(async () => {
    studioPage = await openStudioPage('fss-views-', async (dir) => {
      fake = join(dir, 'notes.mp4');
      await writeFile(fake, 'this is a text file with a video name\n');
    });
    ({ root, page, errors } = studioPage);
  });

  // Each step owns the errors it caused.
  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });

  afterAll(() => studioPage?.close());

  it('new project: marks an empty name, refuses a text file named .mp4 with its reason, resets after creation', async () => {
    await page.locator('#proj-loc').fill(root);
    await page.getByRole('button', { name: 'Create project' }).click();
    expect(await page.locator('#proj-name').getAttribute('aria-invalid')).toBe('true');
    await expect(page.getByTestId('proj-name-error').innerText()).resolves.toContain('name');

    await page.locator('#proj-name').fill('views');
    await pickFile(page, 'add-source-A', fake);
    await expect.poll(() => page.getByTestId('source-refused-A').innerText()).toContain('notes.mp4');
    expect(await page.getByTestId('sources-A').innerText()).not.toContain('notes.mp4');
    for (const v of [videos.glassesHand, videos.sceneCuts, videos.vertical]) await pickFile(page, 'add-source-A', v);
    await pickFile(page, 'add-source-B', videos.personB);
    await expect.poll(() => page.getByTestId('sources-A').innerText()).toContain('183 frames · 25 fps');
    await expect.poll(() => page.getByTestId('sources-B').innerText()).toContain('250 frames · 30 fps');
    await page.locator('#id-A-agreed').fill('Alice Example');
    await page.locator('#id-B-agreed').fill('Bob Example');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByTestId('project-summary').waitFor();
    projectDir = join(root, 'views');
    const saved = JSON.parse(await readFile(join(projectDir, 'project.json'), 'utf8')) as {
      identities: { A: { sources: string[] } };
    };
    expect(saved.identities.A.sources).toEqual([
      await realpath(videos.glassesHand),
      await realpath(videos.sceneCuts),
      await realpath(videos.vertical),
    ]);

    // The next project starts from a blank form: no name, no sources, nobody's consent.
    await page.getByRole('button', { name: 'Show' }).click();
    expect(await page.locator('#proj-name').inputValue()).toBe('');
    expect(await page.locator('#id-A-agreed').inputValue()).toBe('');
    expect(await page.locator('#id-B-agreed').inputValue()).toBe('');
    expect(await page.getByTestId('sources-A').innerText()).toContain('No sources yet');
    await page.getByRole('button', { name: 'Hide' }).click();
    // The pipeline stepper: sources done, faces next.
    expect(await page.getByTestId('step-sources').getAttribute('data-done')).toBe('true');
    expect(await page.getByTestId('step-faces-go').getAttribute('class')).toContain('primary');
    await shot(page, 'views-projects');
  });

  it('edits the consent of an open project, and a reload keeps the project open', async () => {
    await page.getByTestId('project-edit-open').click();
    await page.locator('#edit-A-agreed').fill('Alice Example <alice@example.org>');
    await page.getByTestId('project-edit-save').click();
    await expect
      .poll(
        async () => JSON.parse(await readFile(join(projectDir, 'project.json'), 'utf8')).identities.A.consent.agreedBy,
      )
      .toBe('Alice Example <alice@example.org>');
    await page.reload();
    await expect.poll(() => page.getByTestId('current-project').innerText()).toBe('views');
    await expect.poll(() => page.getByTestId('project-summary').innerText()).toContain('alice@example.org');
  });

  it('faces: small thumbnails, delete with "also skip in conversion", undo per identity, large view', async () => {
    // Aligned-face-sized crops of a real photo, named as extract names them (frames 0, 6, 12, ...).
    const still = td('identity', 'liveportrait_personA', 'personA_still.jpg');
    const meta = await sharp(still).metadata();
    const side = Math.min(meta.width ?? 0, meta.height ?? 0);
    for (let i = 0; i < 12; i++) {
      const png = await sharp(still)
        .extract({ left: i * 4, top: i * 3, width: side - 48, height: side - 48 })
        .resize(256, 256)
        .png()
        .toBuffer();
      await writeFile(
        join(projectDir, 'faces', 'A', `${stemOf(videos.glassesHand)}_${String(i * 6).padStart(6, '0')}_0.png`),
        png,
      );
    }
    await writeFile(
      join(projectDir, 'faces', 'B', `${stemOf(videos.personB)}_000000_0.png`),
      await sharp(still).resize(256, 256).png().toBuffer(),
    );

    await page.getByTestId('nav-faces').click();
    const grid = page.getByTestId('faces-grid');
    await expect.poll(() => grid.getAttribute('data-count')).toBe('12');
    // Thumbnails: 128 px JPEGs from the project's cache, not the 256 px faces.
    await expect
      .poll(() => grid.locator('img').first().getAttribute('src'))
      .toContain(encodeURIComponent('/cache/thumbs/A/'));
    const thumbs = await readdir(join(projectDir, 'cache', 'thumbs', 'A'));
    expect(thumbs.filter((n) => n.endsWith('.jpg'))).toHaveLength(12);
    expect((await sharp(join(projectDir, 'cache', 'thumbs', 'A', thumbs[0] as string)).metadata()).width).toBe(128);

    const cells = grid.locator('[role=gridcell]');
    await cells.nth(0).click();
    await cells.nth(2).click({ modifiers: ['Shift'] });
    await page.keyboard.press('Delete');
    await page.getByTestId('faces-delete-dialog').getByText('Also skip in conversion').click();
    await expect.poll(() => grid.getAttribute('data-count')).toBe('9');
    await expect.poll(() => page.getByTestId('faces-skipped').innerText()).toBe('3 skipped in conversion');
    const project = JSON.parse(await readFile(join(projectDir, 'project.json'), 'utf8')) as {
      skipInConversion: { A: string[] };
    };
    expect(project.skipInConversion.A).toHaveLength(3);
    await expect(page.getByTestId('faces-undo').innerText()).resolves.toBe('Undo (3)');
    // Undo belongs to the identity it deleted from.
    await page.getByTestId('faces-side-B').click();
    await expect.poll(() => grid.getAttribute('data-count')).toBe('1');
    expect(await page.getByTestId('faces-undo').isDisabled()).toBe(true);
    await page.getByTestId('faces-side-A').click();
    await expect.poll(() => grid.getAttribute('data-count')).toBe('9');
    expect(await page.getByTestId('faces-undo').isEnabled()).toBe(true);
    await cells.nth(1).dblclick();
    await page.getByTestId('face-large').locator('img').waitFor();
    await shot(page, 'faces-large');
    await page.getByTestId('face-large').getByRole('button', { name: 'Close' }).click();
    await shot(page, 'views-faces');
  });

  it('convert: the probed frame count and rate of each clip, frames left original, a bad target refused', async () => {
    await page.getByTestId('nav-convert').click();
    const frames = page.getByTestId('convert-frames');
    // 25 fps, 183 frames (MANIFEST): the scrubber reaches frame 182.
    await expect.poll(() => frames.innerText()).toContain('/ 182 · 183 frames at 25 fps · 512×512');
    expect(await page.getByTestId('convert-frame').getAttribute('max')).toBe('182');
    await expect
      .poll(() => page.getByTestId('convert-kept-original').innerText())
      .toContain('3 frames of this clip will stay original');
    await expect(page.getByTestId('convert-no-model').innerText()).resolves.toContain('train a model first');
    expect(await page.getByTestId('convert-run').isDisabled()).toBe(true);
    await page.getByTestId('convert-target').selectOption({ label: basename(videos.sceneCuts) });
    await expect.poll(() => frames.innerText()).toContain('/ 274 · 275 frames at 29.97 fps · 640×360');
    await page.getByTestId('convert-target').selectOption({ label: basename(videos.vertical) });
    await expect.poll(() => frames.innerText()).toContain('352 frames at 30 fps · 720×1280');
    await shot(page, 'convert-no-model');

    // A text file named .mp4: the reason is shown, no preview or frame of another clip stays, Convert is off.
    await page.getByRole('button', { name: 'Browse…' }).click();
    const dialog = page.locator('dialog[open]');
    // A folder outside the allowed ones: the picker says how to allow one.
    await dialog.locator('input').fill('/etc');
    await dialog.getByRole('button', { name: 'Go' }).click();
    await expect.poll(() => dialog.getByRole('alert').innerText()).toContain('start the studio with --root <folder>');
    await dialog.locator('input').fill(root);
    await dialog.getByRole('button', { name: 'Go' }).click();
    await dialog.getByRole('button', { name: 'notes.mp4', exact: true }).dblclick();
    await expect.poll(() => page.getByTestId('convert-target-error').innerText()).toContain('notes.mp4');
    expect(await page.getByTestId('convert-original').count()).toBe(0);
    expect(await page.getByTestId('convert-preview').count()).toBe(0);
    expect(await page.getByTestId('convert-frames').count()).toBe(0);
    expect(await page.getByTestId('convert-run').isDisabled()).toBe(true);
    await shot(page, 'convert-bad-target');
  });

  it('convert: the Original pane shows frame 120 of a 25 fps clip when asked (pixels compared with ffmpeg)', async () => {
    await page.getByTestId('convert-target').selectOption({ label: basename(videos.glassesHand) });
    await expect.poll(() => page.getByTestId('convert-frames').innerText()).toContain('183 frames');
    await page.getByLabel('Frame number').fill('120');
    const original = page.getByTestId('convert-original');
    type Video = { seeking: boolean; readyState: number; currentTime: number };
    await expect
      .poll(
        () =>
          original.evaluate((el) => {
            const v = el as unknown as Video;
            return !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - 120.5 / 25) < 0.02;
          }),
        { timeout: 30_000 },
      )
      .toBe(true);
    const W = 64;
    // Runs in the page (a string: the test tsconfig has no DOM types): the shown video frame drawn to a canvas.
    const shown = (await page.evaluate(`(() => {
      const v = document.querySelector('[data-testid="convert-original"]');
      const c = document.createElement('canvas');
      c.width = ${W};
      c.height = ${W};
      const g = c.getContext('2d');
      g.drawImage(v, 0, 0, ${W}, ${W});
      return Array.from(g.getImageData(0, 0, ${W}, ${W}).data);
    })()`)) as number[];
    const grey = (rgba: ArrayLike<number>, stride: number) =>
      Array.from(
        { length: W * W },
        (_, i) =>
          0.299 * (rgba[i * stride] ?? 0) + 0.587 * (rgba[i * stride + 1] ?? 0) + 0.114 * (rgba[i * stride + 2] ?? 0),
      );
    const decoded: Buffer[] = [];
    for await (const f of decodeFrames(videos.glassesHand, { start: 0, end: 121, width: W, height: W }))
      if (f.index === 0 || f.index === 120) decoded.push(f.data);
    const page120 = grey(shown, 4);
    const diff = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - (b[i] ?? 0)), 0) / a.length;
    const to120 = diff(page120, grey(decoded[1] as Buffer, 3));
    const to0 = diff(page120, grey(decoded[0] as Buffer, 3));
    // The shown frame is ffmpeg's frame 120 (scaling and colour conversion differ a little), not frame 0.
    expect(to120).toBeLessThan(6);
    expect(to0).toBeGreaterThan(to120 * 2);
  });

  it('convert: saves the settings as a named preset, applies it, deletes it', async () => {
    const blur = page.locator('#convert-live-blurSize');
    const erosion = page.locator('#convert-live-erosion');
    await blur.fill('12');
    await erosion.fill('3');
    await page.getByTestId('convert-preset-name').fill('soft edge');
    await page.getByTestId('convert-preset-save').click();
    type Saved = { convertPresets?: Record<string, Record<string, unknown>> };
    const presets = async () =>
      (JSON.parse(await readFile(join(projectDir, 'project.json'), 'utf8')) as Saved).convertPresets;
    await expect.poll(async () => (await presets())?.['soft edge']).toMatchObject({ blurSize: 12, erosion: 3 });
    // The per-clip paths are not part of a preset.
    expect(Object.keys((await presets())?.['soft edge'] ?? {})).not.toEqual(expect.arrayContaining(['input']));
    expect((await presets())?.['soft edge']).not.toHaveProperty('output');
    await blur.fill('2');
    await erosion.fill('0');
    await erosion.press('Tab'); // a number field takes its value when left
    await page.getByTestId('convert-preset').selectOption('');
    await page.getByTestId('convert-preset').selectOption('soft edge');
    await expect.poll(() => blur.inputValue()).toBe('12');
    expect(await erosion.inputValue()).toBe('3');
    await shot(page, 'convert-presets');
    await page.getByTestId('convert-preset-delete').click();
    await expect.poll(async () => Object.keys((await presets()) ?? {})).toEqual([]);
    // The file is written before the answer reaches the page: the list follows once the page has the answer.
    await expect
      .poll(() => page.getByTestId('convert-preset').locator('option').allInnerTexts())
      .toEqual(['(current settings)']);
  });

  it('faces: groups by pose from a real alignments file; the trash restores a batch and empties after a confirmation', async () => {
    // B's real alignments: extract runs on a copy of personB (the test data is read-only), giving head poses and
    // the face names extract gives.
    const file = `${basename(videos.personB)}.alignments.json`;
    const src = join(root, 'extract-B', basename(videos.personB));
    await mkdir(dirname(src), { recursive: true });
    await copyFile(videos.personB, src);
    await runExtract(
      parseOptions(extractStage.options, { input: src, output: join(root, 'extract-B', 'faces') }),
      quietContext(),
    );
    const doc = parseAlignments(JSON.parse(await readFile(`${src}.alignments.json`, 'utf8')), file);
    await copyFile(`${src}.alignments.json`, join(projectDir, 'alignments', file));
    const still = td('identity', 'liveportrait_personA', 'personA_still.jpg');
    const faces = Object.values(doc.frames)
      .flatMap((f) => f.faces)
      .filter((f) => f.file && f.pose)
      .slice(0, 6);
    for (const f of faces)
      await writeFile(
        join(projectDir, 'faces', 'B', f.file as string),
        await sharp(still).resize(256, 256).png().toBuffer(),
      );
    const frontal = faces.filter((f) => Math.abs(f.pose?.yaw ?? 99) <= 15).length;
    expect(frontal).toBeGreaterThan(0);

    await page.getByTestId('nav-faces').click();
    await page.getByTestId('faces-side-B').click();
    const grid = page.getByTestId('faces-grid');
    await expect.poll(() => grid.getAttribute('data-count')).toBe(String(faces.length));
    await expect.poll(() => page.getByTestId('faces-group').isEnabled()).toBe(true);
    await page.getByTestId('faces-group').selectOption('pose');
    await expect.poll(() => page.getByTestId('faces-group-frontal').innerText()).toBe(`Frontal ${frontal}`);
    await page.getByTestId('faces-group-frontal').click();
    await expect.poll(() => grid.getAttribute('data-count')).toBe(String(frontal));
    await shot(page, 'faces-grouped');
    // No reference faces at extraction: identity grouping says so instead of inventing groups.
    await page.getByTestId('faces-group').selectOption('identity');
    await expect.poll(() => page.getByTestId('faces-identity-none').innerText()).toContain('reference faces');
    await page.getByTestId('faces-group').selectOption('none');
    await expect.poll(() => grid.getAttribute('data-count')).toBe(String(faces.length));

    // Two B faces to the trash (training only), beside the 3 A faces deleted earlier with "also skip in conversion".
    const cells = grid.locator('[role=gridcell]');
    await cells.nth(0).click();
    await cells.nth(1).click({ modifiers: ['Shift'] });
    await page.getByTestId('faces-delete').click();
    await page.getByTestId('faces-delete-train').click();
    await expect.poll(() => grid.getAttribute('data-count')).toBe(String(faces.length - 2));

    await page.getByTestId('faces-trash-open').click();
    const trash = page.getByTestId('faces-trash');
    const batches = trash.getByTestId('trash-batch');
    await expect.poll(() => batches.count()).toBe(2);
    await expect.poll(() => batches.first().innerText()).toMatch(/^B: .* · 2 faces · /); // newest first
    expect(await batches.nth(1).innerText()).toMatch(/^A: .* · 3 faces · /);
    await expect
      .poll(() =>
        batches
          .first()
          .locator('img')
          .evaluateAll((imgs) => imgs.every((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0)),
      )
      .toBe(true);
    await shot(page, 'faces-trash');
    // Restoring A's batch puts the faces back and un-skips their frames in conversions.
    await batches.nth(1).getByTestId('trash-restore').click();
    await expect.poll(() => batches.count()).toBe(1);
    await expect
      .poll(async () => (await readdir(join(projectDir, 'faces', 'A'))).filter((n) => n.endsWith('.png')).length)
      .toBe(12);
    await expect
      .poll(
        async () =>
          (
            JSON.parse(await readFile(join(projectDir, 'project.json'), 'utf8')) as {
              skipInConversion: { A: string[] };
            }
          ).skipInConversion.A,
      )
      .toEqual([]);
    await expect.poll(() => page.getByTestId('faces-side-A').innerText()).toContain('12');

    // Emptying asks first; keeping them changes nothing.
    await trash.getByTestId('trash-empty').click();
    await expect.poll(() => trash.getByTestId('trash-empty-confirm').innerText()).toContain('Delete 2 faces for good?');
    await shot(page, 'faces-trash-confirm');
    await trash.getByRole('button', { name: 'Keep them' }).click();
    expect(await batches.count()).toBe(1);
    await trash.getByTestId('trash-empty').click();
    await trash.getByTestId('trash-empty-yes').click();
    await expect.poll(() => trash.innerText()).toContain('The trash is empty.');
    expect(await readdir(join(projectDir, 'trash'))).toEqual([]);
    expect((await readdir(join(projectDir, 'faces', 'B'))).filter((n) => n.endsWith('.png'))).toHaveLength(
      faces.length - 2,
    );
    await trash.getByRole('button', { name: 'Close' }).click();
  });
});
