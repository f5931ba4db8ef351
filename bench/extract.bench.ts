/**
 * Extraction speed on this machine: the whole extract stage (decode, detect/track, 68 landmarks, smoothing,
 * alignment, PNG write, alignments file) on a 480p and a 720p clip of the test data, every frame; beside it the
 * accuracy that speed buys: landmark jitter on the clip's stillest second (the stage's smoothed output, in
 * inter-ocular distances per frame) and the NME of the photo path on the two human-annotated 300-W faces.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bench } from './types';
import { hasTestdata, td, videos } from '../tests/helpers/testdata';

type P = [number, number];

/** Mean NME (outer-eye normalised) of the extract stage's landmarks on the 300-W faces. */
async function nme300w(dir: string): Promise<number> {
  const { runExtract } = await import('../src-main/engine/extract/run');
  const { parseOptions } = await import('../src-shared/options');
  const { extractOptions } = await import('../src-shared/stages/extract');
  const { quietContext } = await import('../src-main/engine/stage');
  const { boxIou } = await import('../src-main/engine/face/detector');
  const a = join(dir, '300w.json');
  await runExtract(
    parseOptions(extractOptions, { input: td('landmarks', '300w'), output: join(dir, '300w'), alignments: a }),
    quietContext(),
  );
  const al = JSON.parse(await readFile(a, 'utf8')) as {
    frames: Record<string, { faces: Array<{ box: [number, number, number, number]; landmarks68: P[] }> }>;
  };
  const gt = JSON.parse(await readFile(td('landmarks', '300w', '300w_landmarks.json'), 'utf8')) as {
    images: Array<{ file: string; faces: Array<{ bbox_xywh: [number, number, number, number]; landmarks: P[] }> }>;
  };
  const errs: number[] = [];
  for (const im of gt.images)
    for (const g of im.faces) {
      const f = al.frames[im.file]?.faces.find((x) => boxIou(x.box, g.bbox_xywh) > 0.3);
      const d = Math.hypot(g.landmarks[36]![0] - g.landmarks[45]![0], g.landmarks[36]![1] - g.landmarks[45]![1]);
      errs.push(
        f
          ? f.landmarks68.reduce((s, p, i) => s + Math.hypot(p[0] - g.landmarks[i]![0], p[1] - g.landmarks[i]![1]), 0) /
              68 /
              d
          : 1,
      );
    }
  return errs.reduce((s, v) => s + v, 0) / errs.length;
}

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
    const { stillestWindow } = await import('../src-main/engine/face/jitter');
    const al = JSON.parse(await readFile(join(dir, 'a.json'), 'utf8')) as {
      source: { frameCount: number; fps: number };
      frames: Record<string, { faces: Array<{ landmarks68: P[] }> }>;
    };
    const seq = Array.from(
      { length: al.source.frameCount },
      (_, i) => al.frames[String(i)]?.faces[0]?.landmarks68 ?? null,
    );
    const still = stillestWindow(seq, al.source.fps);
    return {
      framesPerSecond: +r.framesPerSecond.toFixed(2),
      jitterStillest: still ? +still.jitter.toFixed(5) : null,
      nme300w: +(await nme300w(dir)).toFixed(4),
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
