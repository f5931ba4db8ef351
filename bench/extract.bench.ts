/**
 * Extraction speed on this machine: the whole extract stage (decode, detect/track, 68 landmarks, smoothing,
 * alignment, PNG write, alignments file) on a 480p and a 720p clip of the test data, every frame.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench } from './types';
import { hasTestdata, videos } from '../tests/helpers/testdata';

async function measure(input: string): Promise<Record<string, unknown>> {
  if (!hasTestdata) return { skipped: 'test data not found' };
  const { runExtract } = await import('../src-main/engine/extract/run');
  const { loadFaceModels } = await import('../src-main/engine/face/human');
  const { parseOptions } = await import('../src-shared/options');
  const { extractOptions } = await import('../src-shared/stages/extract');
  const { quietContext } = await import('../src-main/engine/stage');
  const t0 = Date.now();
  const models = await loadFaceModels();
  const loadMs = Date.now() - t0;
  const dir = await mkdtemp(join(tmpdir(), 'fss-bench-extract-'));
  try {
    const r = await runExtract(
      parseOptions(extractOptions, { input, output: join(dir, 'faces'), alignments: join(dir, 'a.json') }),
      quietContext(),
    );
    return {
      framesPerSecond: +r.framesPerSecond.toFixed(2),
      frames: r.framesProcessed,
      facesWritten: r.facesWritten,
      elapsedMs: r.elapsedMs,
      modelLoadMs: loadMs,
      backend: models.backend,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const benches: Bench[] = [
  {
    name: 'extract.480p',
    description: 'extract stage frames/s, personA_short_lp-d18.mp4 (480x480, 216 frames), every frame, 256 px faces',
    run: () => measure(videos.personA),
  },
  {
    name: 'extract.720p',
    description:
      'extract stage frames/s, edge_vertical720p_lp-d13.mp4 (720x1280, 352 frames), every frame, 256 px faces',
    run: () => measure(videos.vertical),
  },
];
