/**
 * Where the shared real-media test data lives: $FSS_TESTDATA, else ../shared/testdata beside the checkout.
 * Under CI=true a missing folder fails the run; elsewhere the tests that need it are skipped with the reason.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '..', '..');
export const testdataDir = resolve(process.env.FSS_TESTDATA ?? join(repoRoot, '..', 'shared', 'testdata'));
export const hasTestdata = existsSync(join(testdataDir, 'MANIFEST.md'));

if (!hasTestdata && process.env.CI === 'true') {
  throw new Error(`test data not found at ${testdataDir} (set FSS_TESTDATA); under CI=true this is a failure`);
}

/** Absolute path of a file inside the test data folder, for example `td('videos/personA_short_lp-d18.mp4')`. */
export function td(...parts: string[]): string {
  return join(testdataDir, ...parts);
}

export const videos = {
  personA: td('videos', 'personA_short_lp-d18.mp4'),
  personB: td('videos', 'personB_short_lp-d19.mp4'),
  vertical: td('videos', 'edge_vertical720p_lp-d13.mp4'),
  glassesHand: td('videos', 'edge_glasses-hand_lp-d12.mp4'),
  sceneCuts: td('videos', 'edge_scenecuts_fr-short_hamilton_clip.mp4'),
} as const;

/** Every video in testdata/videos (the folder, not a fixed list, so new clips are covered). */
export async function allVideos(): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const names = await readdir(join(testdataDir, 'videos'));
  return names
    .filter((n) => /\.(mp4|mov|mkv|webm|avi)$/i.test(n))
    .sort()
    .map((n) => join(testdataDir, 'videos', n));
}

/** A scratch folder under the OS temp dir, removed by the caller's afterAll. */
export async function scratchDir(prefix: string): Promise<string> {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  return mkdtemp(join(tmpdir(), `fss-${prefix}-`));
}
