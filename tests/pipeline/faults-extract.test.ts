/**
 * Fault injection on extract (docs/reliability.md): a full disk at every write of a run (in this process,
 * setFault), and kill -9 after a re-run's first save, twice in a row (the real CLI, FSS_FAULT). After each:
 * a loadable alignments file that lists only whole PNGs, the previous complete file kept as `.bak`, one-line
 * errors, and no leftovers after the next run.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { parseAlignments, type Alignments } from '../../src-shared/formats/alignments';
import { parseOptions } from '../../src-shared/options';
import { extractOptions } from '../../src-shared/stages/extract';
import { runExtract } from '../../src-main/engine/extract/run';
import { quietContext } from '../../src-main/engine/stage';
import { setFault } from '../../src-main/engine/util/faults';
import { hasTestdata, repoRoot, scratchDir, td, videos } from '../helpers/testdata';

let dir: string;

async function loadAlignments(path: string): Promise<Alignments> {
  return parseAlignments(JSON.parse(await readFile(path, 'utf8')), path);
}

/** Every face the file lists is a whole PNG; nothing hidden (temp, lock) is left in either folder. */
async function expectConsistent(alignmentsPath: string, faces: string) {
  const al = await loadAlignments(alignmentsPath);
  for (const f of Object.values(al.frames).flatMap((fr) => fr.faces)) {
    if (!f.file) continue;
    const { info } = await sharp(join(faces, f.file)).raw().toBuffer({ resolveWithObject: true });
    expect(info.width).toBe(al.settings.size);
  }
  for (const d of [faces, join(alignmentsPath, '..')])
    expect(
      (await readdir(d)).filter((n) => n.startsWith('.')),
      d,
    ).toEqual([]);
  return al;
}

beforeAll(async () => {
  dir = await scratchDir('faults-extract');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(() => setFault(''));

describe.skipIf(!hasTestdata)('extract under faults', () => {
  it(
    'a full disk at every write: one-line error, only whole faces listed, the previous file kept',
    { timeout: 300_000 },
    async () => {
      const photos = join(dir, 'photos');
      await mkdir(photos);
      await copyFile(td('faces', 'single_tom-cruise_dlib.jpg'), join(photos, 'a.jpg'));
      await copyFile(td('identity', 'liveportrait_personA', 'personA_still.jpg'), join(photos, 'b.jpg'));
      const faces = join(dir, 'photo-faces');
      const alignments = join(dir, 'photos.alignments.json');
      const run = () =>
        runExtract(parseOptions(extractOptions, { input: photos, output: faces, alignments }), quietContext());
      const first = await run();
      expect(first.facesWritten).toBe(2);
      const previous = await readFile(alignments, 'utf8');
      let n = 1;
      for (; ; n++) {
        setFault(`enospc:${n}`);
        const err = await run().then(
          () => null,
          (e: unknown) => e,
        );
        setFault('');
        if (!err) break; // past the last write of a run
        expect(isUserError(err), String(err)).toBe(true);
        const message = (err as Error).message;
        expect(message.split('\n')).toHaveLength(1);
        expect(message).toMatch(/^\/.*: disk full \(ENOSPC\)/);
        const al = await expectConsistent(alignments, faces);
        if (al.complete) expect(await readFile(alignments, 'utf8')).toBe(previous);
        expect(await readFile(`${alignments}.bak`, 'utf8')).toBe(previous);
      }
      // Two faces and the alignments file: every one of them was a write that failed once.
      expect(n).toBeGreaterThanOrEqual(4);
      expect((await expectConsistent(alignments, faces)).complete).toBe(true);
    },
  );

  it(
    'kill -9 after a re-run first saves, twice in a row: loadable file, the complete one kept as .bak',
    { timeout: 300_000 },
    async () => {
      const faces = join(dir, 'video-faces');
      const alignments = join(dir, 'video.alignments.json');
      const cli = (fault = '') =>
        spawnSync(
          process.execPath,
          [
            join(repoRoot, 'bin', 'faceswap-studio.js'),
            'extract',
            '-i',
            videos.personA,
            '-o',
            faces,
            '-a',
            alignments,
            '--every-n',
            '24',
          ],
          { encoding: 'utf8', timeout: 180_000, env: { ...process.env, FSS_FAULT: fault } },
        );
      const first = cli();
      expect(first.status, first.stderr).toBe(0);
      const complete = await readFile(alignments, 'utf8');
      expect((await loadAlignments(alignments)).complete).toBe(true);
      for (let again = 0; again < 2; again++) {
        const r = cli('kill:extract:saved:1');
        expect(r.signal, r.stderr).toBe('SIGKILL');
        await loadAlignments(alignments);
        // The last complete extraction: the first run's, or a killed run's whose first save was its last.
        const bak = await loadAlignments(`${alignments}.bak`);
        expect(bak.complete).toBe(true);
        expect(Object.keys(bak.frames)).toEqual(Object.keys((JSON.parse(complete) as Alignments).frames));
      }
      const last = cli();
      expect(last.status, last.stderr).toBe(0);
      const al = await expectConsistent(alignments, faces);
      expect(al.complete).toBe(true);
      expect(Object.keys(al.frames)).toEqual(Object.keys((JSON.parse(complete) as Alignments).frames));
    },
  );
});
