/**
 * Issue 16 item 3: the studio passes its settings to each job (the job's tools), never through the environment.
 * A train job started through the handlers with `--backend auto` and the settings backend `tensorflow` runs on
 * tensorflow where tfjs-node is installed, and elsewhere fails naming it (auto alone would train on wasm: the
 * setting reached the job either way); a frames job runs the settings' ffmpeg (a wrapper that leaves a mark);
 * FSS_BACKEND and FSS_FFMPEG are what they were before.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stageResult } from '../../src-shared/stages/index';
import type { JobInfo } from '../../src-shared/ipc';
import { resolveFfmpeg } from '../../src-main/engine/media/ffmpeg';
import { createServices, dispatch, type Services } from '../../src-main/services/handlers';
import { PathGuard } from '../../src-main/services/path-guard';
import { SettingsStore } from '../../src-main/services/settings';
import { hasTestdata, scratchDir, testdataDir, videos } from '../helpers/testdata';

let dir = '';
let services: Services;
const env = { backend: process.env.FSS_BACKEND, ffmpeg: process.env.FSS_FFMPEG };

beforeAll(async () => {
  dir = await scratchDir('settings-jobs');
  for (const side of ['A', 'B']) {
    await mkdir(join(dir, side));
    for (let i = 0; i < 4; i++) {
      const px = Buffer.alloc(64 * 64 * 3);
      for (let j = 0; j < px.length; j++) px[j] = (j * (side === 'A' ? 7 : 13) + i * 31) % 256;
      await sharp(px, { raw: { width: 64, height: 64, channels: 3 } })
        .png()
        .toFile(join(dir, side, `f_${String(i).padStart(6, '0')}_0.png`));
    }
  }
  // The settings' ffmpeg: the real one behind a wrapper that marks each run.
  const real = (await resolveFfmpeg()).path;
  const wrapper = join(dir, 'my-ffmpeg');
  await writeFile(
    wrapper,
    `#!/bin/sh\necho ran >> ${JSON.stringify(join(dir, 'ran'))}\nexec ${JSON.stringify(real)} "$@"\n`,
  );
  await chmod(wrapper, 0o755);
  await writeFile(
    join(dir, 'settings.json'),
    JSON.stringify({ recent: [], backend: 'tensorflow', ffmpegPath: wrapper }),
  );
  services = createServices({
    shell: 'browser',
    guard: await PathGuard.create([dir, testdataDir]),
    emit: () => undefined,
    settings: new SettingsStore(join(dir, 'settings.json')),
  });
});

afterAll(async () => {
  await services?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function runJob(stage: string, options: Record<string, unknown>): Promise<JobInfo> {
  const r = await dispatch(services.handlers, 'job:start', { stage, options });
  if (!r.ok) throw new Error(r.error.message);
  await services.jobs.idle();
  const job = services.jobs.get((r.result as JobInfo).id);
  if (!job) throw new Error('job vanished');
  return job;
}

describe('studio jobs get the settings as their tools', () => {
  it(
    'a train job with --backend auto uses the settings backend (tensorflow); the environment is untouched',
    { timeout: 120_000 },
    async () => {
      const job = await runJob('train', {
        inputA: join(dir, 'A'),
        inputB: join(dir, 'B'),
        modelDir: join(dir, 'model'),
        trainer: 'lightweight',
        batchSize: 2,
        iterations: 1,
        previewEvery: 0,
        threads: 1,
        seed: 1,
      });
      if (job.state === 'done') expect(stageResult(job, 'train')?.backend).toBe('tensorflow');
      else {
        expect(job.state).toBe('failed');
        expect(job.error?.code).toBe('unavailable');
        expect(job.error?.message).toMatch(/^tfjs backend 'tensorflow' is not available here/);
      }
      expect(process.env.FSS_BACKEND).toBe(env.backend);
    },
  );

  it(
    "a finished train job's rate is kept for the Train view's estimate (train:rates); a session under 10 iterations is not",
    { timeout: 180_000 },
    async () => {
      const train = (iterations: number, modelDir: string) =>
        runJob('train', {
          inputA: join(dir, 'A'),
          inputB: join(dir, 'B'),
          modelDir: join(dir, modelDir),
          trainer: 'lightweight',
          backend: 'wasm',
          batchSize: 2,
          iterations,
          previewEvery: 0,
          threads: 1,
          seed: 1,
        });
      const short = await train(3, 'model-short');
      expect(short.error).toBeUndefined();
      const none = await dispatch(services.handlers, 'train:rates', {});
      expect(none.ok && none.result).toEqual({ rates: [] });
      const job = await train(12, 'model-rate');
      expect(job.error).toBeUndefined();
      const result = stageResult(job, 'train');
      const r = await dispatch(services.handlers, 'train:rates', {});
      if (!r.ok) throw new Error(r.error.message);
      const { rates } = r.result as { rates: Array<{ trainer: string; egs: number; backend: string; source: string }> };
      expect(rates).toHaveLength(1);
      expect(rates[0]).toMatchObject({ trainer: 'lightweight', backend: 'wasm', egs: result?.egs });
      expect(rates[0]?.source).toMatch(/^a training job of \d{4}-\d\d-\d\d \(12 iterations, wasm, 1 thread\)$/);
      // It is kept in the settings file, so a restarted studio plans with it too.
      const saved = JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8')) as { trainingRates: unknown[] };
      expect(saved.trainingRates).toHaveLength(1);
    },
  );

  it.skipIf(!hasTestdata)(
    'a frames job runs the settings ffmpeg; FSS_FFMPEG is untouched',
    { timeout: 120_000 },
    async () => {
      const job = await runJob('frames', { input: videos.personA, output: join(dir, 'frames'), end: 2 });
      expect(job.error).toBeUndefined();
      expect(stageResult(job, 'frames')?.frames).toBe(2);
      expect(existsSync(join(dir, 'ran')), 'the settings ffmpeg never ran').toBe(true);
      expect((await readFile(join(dir, 'ran'), 'utf8')).length).toBeGreaterThan(0);
      expect(process.env.FSS_FFMPEG).toBe(env.ffmpeg);
    },
  );
});
