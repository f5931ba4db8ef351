// Issue 10 item 14: a truncated weights file makes convert use the backup save; it must say so in one line.
import { spawnSync } from 'node:child_process';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readModelFiles } from '../../src-main/engine/train/model-io';
import { saveTinyModel } from '../helpers/model';
import { hasTestdata, repoRoot, scratchDir, videos } from '../helpers/testdata';

describe.skipIf(!hasTestdata)('convert on a model whose last save is damaged', () => {
  let dir: string;
  const model = () => join(dir, 'model');

  beforeAll(async () => {
    dir = await scratchDir('convert-damaged');
    // Two saves of an (untrained) lightweight model: iteration 1 becomes the backup of iteration 2.
    await saveTinyModel(model(), [1, 2]);
    // The last save's weights cut short, as a full disk or a kill during a copy would leave them.
    const { weightsFile } = await readModelFiles(model());
    const bytes = await readFile(weightsFile);
    await writeFile(weightsFile, bytes.subarray(0, Math.floor(bytes.length / 3)));
    await copyFile(videos.personA, join(dir, 'clip.mp4'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the backup save and says so in one line on stderr', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(repoRoot, 'bin', 'faceswap-studio.js'),
        'convert',
        '-i',
        join(dir, 'clip.mp4'),
        '-o',
        join(dir, 'out'),
        '-m',
        model(),
      ].concat(['--frame-ranges', '0-1', '--discard-frames', '--no-quality-report', '--backend', 'wasm']),
      { encoding: 'utf8', timeout: 600_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const notes = r.stderr.split('\n').filter((l) => /backup save/.test(l));
    expect(notes, r.stderr).toHaveLength(1);
    expect(notes[0]).toMatch(
      /^warn: .*model: the last save does not load \(damaged or cut short\); using the backup save of iteration 1$/,
    );
  });
});
