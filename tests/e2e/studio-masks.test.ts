/**
 * The Faces view's mask editor in browser mode in Debian's Chromium, failing on any page error or console error:
 * three real faces of personA's clip (extracted in the test, with their alignments file copied into the project)
 * are opened in the editor, which starts from the landmark hull; an exclude stroke across the middle is painted
 * and undone, an include stroke in the top-left corner (outside the hull) is painted, the mask is saved; the
 * saved `<face>.mask.png` has the corner in, the middle in (the undo worked) and the bottom-right corner out, and
 * the alignments file lists it. After a reload the tile's painted overlay is there and the editor opens on the
 * saved mask (the corner is inside the mask on the canvas, the bottom-right outside). Screenshots in
 * tests/artifacts/e2e/.
 */
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasChromium } from '../helpers/browser';
import { openStudioPage, shot, type StudioPage } from '../helpers/studio';
import { hasTestdata, videos } from '../helpers/testdata';
import { parseAlignments } from '../../src-shared/formats/alignments';
import { parseOptions } from '../../src-shared/options';
import { extractStage } from '../../src-shared/stages/extract';
import { runExtract } from '../../src-main/engine/extract/run';
import { quietContext } from '../../src-main/engine/stage';

/** expect.poll with room for a loaded machine. */
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 20_000 });

describe.skipIf(!hasChromium || !hasTestdata)('mask editor in browser mode', () => {
  let studioPage: StudioPage | undefined;
  let page: Page;
  let root: string;
  let projectDir: string;
  let errors: string[];
  let first = '';
  let alignmentsFile = '';

  beforeAll(async () => {
    studioPage = await openStudioPage('fss-masks-', async (dir) => {
      // Real faces and alignments: extract runs on a copy of the clip (the test data is read-only).
      const src = join(dir, 'extract', basename(videos.personA));
      await mkdir(join(dir, 'extract'), { recursive: true });
      await copyFile(videos.personA, src);
      await runExtract(
        parseOptions(extractStage.options, { input: src, output: join(dir, 'extract', 'faces'), everyN: 30 }),
        quietContext(),
      );
    });
    ({ root, page, errors } = studioPage);
  });

  afterEach(() => {
    expect(errors.splice(0)).toEqual([]);
  });

  afterAll(() => studioPage?.close());

  /** Page coordinates of a point of the editor's canvas given in 0..1 face coordinates. */
  async function at(u: number, v: number): Promise<[number, number]> {
    const box = await page.getByTestId('mask-canvas').boundingBox();
    if (!box) throw new Error('no canvas');
    return [box.x + u * box.width, box.y + v * box.height];
  }
  async function stroke(from: [number, number], to: [number, number], button: 'left' | 'right') {
    await page.mouse.move(...(await at(...from)));
    await page.mouse.down({ button });
    for (let k = 1; k <= 8; k++)
      await page.mouse.move(
        ...(await at(from[0] + ((to[0] - from[0]) * k) / 8, from[1] + ((to[1] - from[1]) * k) / 8)),
      );
    await page.mouse.up({ button });
  }
  /** RGB of the editor's canvas at a 0..1 point. */
  const canvasRgb = (u: number, v: number) =>
    page.getByTestId('mask-canvas').evaluate(
      (el, [x, y]) => {
        // The page's canvas (the tests are typechecked without the DOM library).
        const c = el as unknown as {
          width: number;
          height: number;
          getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: number[] } };
        };
        const d = c.getContext('2d').getImageData(Math.round(x * c.width), Math.round(y * c.height), 1, 1).data;
        return [d[0], d[1], d[2]] as [number, number, number];
      },
      [u, v] as const,
    );

  it('paints on the landmark hull, undoes a stroke, saves <face>.mask.png and lists it in the alignments', async () => {
    await page.locator('#proj-loc').fill(root);
    await page.locator('#proj-name').fill('masks');
    await page.locator('#id-A-agreed').fill('Alice Example');
    await page.locator('#id-B-agreed').fill('Bob Example');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.getByTestId('project-summary').waitFor();
    // The folder the studio created (the summary names it; the form itself is covered by studio-views).
    projectDir = (await page.getByTestId('project-summary').locator('.dir').innerText()).trim();
    expect(basename(projectDir)).toBe('masks');
    const names = (await readdir(join(root, 'extract', 'faces'))).filter((n) => n.endsWith('.png')).sort();
    // The project's folders may still be on their way when the summary shows (CI saw faces/A missing).
    await poll(async () => existsSync(join(projectDir, 'faces', 'A'))).toBe(true);
    for (const n of names.slice(0, 3))
      await copyFile(join(root, 'extract', 'faces', n), join(projectDir, 'faces', 'A', n));
    first = names[0] as string;
    alignmentsFile = join(projectDir, 'alignments', `${basename(videos.personA)}.alignments.json`);
    await copyFile(`${join(root, 'extract', basename(videos.personA))}.alignments.json`, alignmentsFile);

    await page.getByTestId('nav-faces').click();
    await page.getByTestId('faces-side-A').click();
    const grid = page.getByTestId('faces-grid');
    await poll(async () => grid.getAttribute('data-count')).toBe('3');
    await grid.locator('[role=gridcell]').nth(0).click();
    await page.keyboard.press('m');
    await page.getByTestId('mask-editor').waitFor();
    expect(await page.getByTestId('mask-editor-face').innerText()).toBe(first);
    await poll(async () => page.getByTestId('mask-status').innerText()).toContain('landmark hull');

    // An exclude stroke through the middle, undone; an include stroke in the corner, kept.
    await stroke([0.3, 0.5], [0.7, 0.5], 'right');
    await poll(async () => page.getByTestId('mask-canvas').getAttribute('data-undo')).toBe('1');
    await page.keyboard.press('z');
    await poll(async () => page.getByTestId('mask-canvas').getAttribute('data-undo')).toBe('0');
    await stroke([0.04, 0.08], [0.2, 0.08], 'left');
    await shot(page, 'mask-editor');
    await page.keyboard.press('s');
    await poll(async () => page.getByTestId('mask-status').innerText()).toMatch(/^saved /);

    const maskFile = join(projectDir, 'faces', 'A', first.replace(/\.png$/, '.mask.png'));
    expect((await sharp(maskFile).metadata()).channels).toBe(1);
    const { data, info } = await sharp(maskFile).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    const px = (u: number, v: number) => data[Math.round(v * info.height) * info.width + Math.round(u * info.width)];
    expect(px(0.12, 0.08)).toBe(255); // the include stroke
    expect(px(0.5, 0.5)).toBe(255); // the hull's middle: the exclude stroke was undone
    expect(px(0.95, 0.95)).toBe(0); // outside the face
    const doc = parseAlignments(JSON.parse(await readFile(alignmentsFile, 'utf8')), alignmentsFile);
    const face = Object.values(doc.frames)
      .flatMap((f) => f.faces)
      .find((f) => f.file === first);
    expect(face?.masks?.painted).toBe(basename(maskFile));
    // No face was added by the mask file (it is not a face); the one painted face can train the segment model.
    await page.getByTestId('mask-close').click();
    await poll(async () => grid.getAttribute('data-count')).toBe('3');
    await poll(async () => page.getByTestId('faces-segment-train').innerText()).toBe('Train segment (1)');
    expect(await page.getByTestId('faces-segment-train').isEnabled()).toBe(true);
  });

  it('after a reload, the painted overlay is on the tile and the editor opens on the saved mask', async () => {
    await page.reload();
    await page.getByTestId('nav-faces').click();
    const grid = page.getByTestId('faces-grid');
    await poll(async () => grid.getAttribute('data-count')).toBe('3');
    await page.getByTestId('faces-mask-overlay').selectOption('painted');
    await poll(async () => grid.getByTestId('face-mask-overlay').count()).toBe(1);
    await shot(page, 'faces-mask-overlay');
    await page.getByTestId('faces-mask-overlay').selectOption('hull');
    await poll(async () => grid.getByTestId('face-mask-overlay').count()).toBe(3);

    await grid.locator('[role=gridcell]').nth(0).click();
    await page.getByTestId('faces-mask-edit').click();
    await poll(async () => page.getByTestId('mask-status').innerText()).toBe('painted mask');
    // Overlay on: outside the mask is tinted red (green falls), inside only faintly green (green does not fall).
    const inCorner = await canvasRgb(0.12, 0.08);
    const outCorner = await canvasRgb(0.95, 0.95);
    await page.keyboard.press('o');
    await poll(async () => page.getByTestId('mask-overlay').isChecked()).toBe(false);
    const inPlain = await canvasRgb(0.12, 0.08);
    const outPlain = await canvasRgb(0.95, 0.95);
    expect(inCorner[1]).toBeGreaterThanOrEqual(inPlain[1]);
    expect(outCorner[1]).toBeLessThan(outPlain[1] * 0.7);
    await page.keyboard.press('Escape');
    await poll(async () => page.getByTestId('mask-editor').count()).toBe(0);
  });
});
