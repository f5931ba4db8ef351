/**
 * Extract on every clip of testdata/videos: a face in every frame where one is visible, landmark jitter with and
 * without smoothing and the smoothing's lag on motion, the identity filter, progress, cancel and resume, and no
 * leaked tensors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { allVideos, hasTestdata, scratchDir, td, videos } from '../helpers/testdata';
import { extractInThread } from '../helpers/extract';
import { runExtract } from '../../src-main/engine/extract/run';
import { SMOOTHING, smoothSequence } from '../../src-main/engine/extract/tracker';
import { ImagePyramid } from '../../src-main/engine/face/image';
import { measureSpeeds } from '../../src-main/engine/face/stabilize';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { loadFaceModels } from '../../src-main/engine/face/human';
import {
  headMotionAt,
  jitterAt,
  landmarkLag,
  residualJitterAt,
  stillestWindow,
} from '../../src-main/engine/face/jitter';
import { interPupilDistance } from '../../src-main/engine/face/ibug68';
import type { Point2 } from '../../src-main/engine/face/types';
import { quietContext, recordingContext } from '../../src-main/engine/stage';
import { isUserError } from '../../src-shared/errors';
import { parseOptions } from '../../src-shared/options';
import { extractOptions } from '../../src-shared/stages/extract';
import { parseAlignments, type Alignments } from '../../src-shared/formats/alignments';

const personAStill = td('identity', 'liveportrait_personA', 'personA_still.jpg');

/**
 * Frames without a visible usable face, by inspection of a contact sheet: in the Hamilton clip, frames 20-81 show
 * the singer in near-full profile cut by the frame edge over a blurred audience. Every other frame of every clip
 * shows at least one face (MANIFEST.md: the LivePortrait clips are single-face throughout).
 */
const NOT_VISIBLE: Record<string, [number, number][]> = {
  'edge_scenecuts_fr-short_hamilton_clip.mp4': [[20, 81]],
};

/**
 * The still-headed clips and their smoothed stillest-second jitter before issue 17 (docs/alignments.md,
 * "Smoothing and jitter"; the test's own figures then).
 */
const STILL: Record<string, number> = {
  'personA_short_lp-d18.mp4': 0.00283,
  'personB_short_lp-d19.mp4': 0.00248,
  'personC_long_lp-d9.mp4': 0.00116,
  'edge_vertical720p_lp-d13.mp4': 0.00169,
};
/**
 * The same with the motion gate and its per-part dead zones (measured from one raw extraction per clip,
 * docs/alignments.md); personC and vertical are at half their figures before issue 17 or less.
 */
const NOW: Record<string, number> = {
  'personA_short_lp-d18.mp4': 0.00224,
  'personB_short_lp-d19.mp4': 0.00141,
  'personC_long_lp-d9.mp4': 0.00045,
  'edge_vertical720p_lp-d13.mp4': 0.00058,
};
const HALVED = ['personC_long_lp-d9.mp4', 'edge_vertical720p_lp-d13.mp4'];
/** The One Euro filter before issue 17. */
const BEFORE_17 = { minCutoff: 1, beta: 4, dCutoff: 1 };

/**
 * The least jitter a track that is where the face is at both ends of frames [start, start + len) can have: the
 * net displacement of the 68 points (raw, each end the mean of 5 frames) over the window's len - 1 steps, over the
 * inter-ocular distance (the triangle inequality).
 */
function jitterFloorAt(track: ReadonlyArray<readonly Point2[] | null>, start: number, len: number): number {
  const k = 5;
  const mean = (from: number): Point2[] =>
    Array.from({ length: 68 }, (_, j) => {
      let x = 0,
        y = 0;
      for (let i = from; i < from + k; i++) {
        x += track[i]![j]![0] / k;
        y += track[i]![j]![1] / k;
      }
      return [x, y];
    });
  const a = mean(start),
    b = mean(start + len - k);
  let m = 0;
  for (let j = 0; j < 68; j++) m += Math.hypot(b[j]![0] - a[j]![0], b[j]![1] - a[j]![1]);
  return m / 68 / interPupilDistance(a) / (len - 1);
}

async function load(path: string): Promise<Alignments> {
  return parseAlignments(JSON.parse(await readFile(path, 'utf8')), path);
}

/** Landmarks of the longest track, per frame (null where that track has no face). */
function longestTrack(al: Alignments): (Point2[] | null)[] {
  const n = al.source.frameCount!;
  const len = new Map<number, number>();
  for (const f of Object.values(al.frames))
    for (const x of f.faces) len.set(x.track ?? 0, (len.get(x.track ?? 0) ?? 0) + 1);
  const id = [...len.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 0;
  return Array.from(
    { length: n },
    (_, i) =>
      (al.frames[String(i)]?.faces.find((x) => (x.track ?? 0) === id)?.landmarks68 as Point2[] | undefined) ?? null,
  );
}

describe.skipIf(!hasTestdata)('extract on video', () => {
  let dir = '';
  let tensorsAtStart = 0;
  const raw = new Map<string, Alignments>();
  beforeAll(async () => {
    dir = await scratchDir('extract-video');
    await loadFaceModels();
    tensorsAtStart = tf.memory().numTensors;
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('cancel leaves a valid alignments file and --skip-existing resumes where it stopped', async () => {
    const input = videos.glassesHand;
    const out = join(dir, 'resume');
    const a = join(out, 'a.json');
    const ac = new AbortController();
    const ctx = recordingContext(ac.signal);
    const origProgress = ctx.progress;
    ctx.progress = (p) => {
      origProgress(p);
      if ((p.done ?? 0) >= 40) ac.abort();
    };
    const opts = { input, output: join(out, 'faces'), alignments: a, smooth: false };
    await expect(runExtract(parseOptions(extractOptions, opts), ctx)).rejects.toSatisfy(
      (e: unknown) => isUserError(e) && e.code === 'cancelled',
    );
    const partial = await load(a);
    expect(partial.complete).toBe(false);
    const done = Object.keys(partial.frames).length;
    expect(done).toBeGreaterThanOrEqual(40);
    expect(done).toBeLessThan(183);
    const ctx2 = recordingContext();
    const r = await runExtract(parseOptions(extractOptions, { ...opts, skipExisting: true }), ctx2);
    expect(r.framesSkipped).toBe(done);
    expect(r.framesProcessed).toBe(183 - done);
    const full = await load(a);
    expect(full.complete).toBe(true);
    expect(Object.keys(full.frames).length).toBe(183);
    raw.set(basename(input), full);
    // progress: monotonic fraction ending at 1, frames/s and ETA reported
    const fr = ctx2.events.map((e) => e.fraction);
    for (let i = 1; i < fr.length; i++) expect(fr[i]!).toBeGreaterThanOrEqual(fr[i - 1]!);
    expect(fr[fr.length - 1]).toBe(1);
    expect(ctx2.events.some((e) => e.rateUnit === 'frames/s' && (e.rate ?? 0) > 0 && e.etaMs !== undefined)).toBe(true);
  });

  it('finds a face in every frame where one is visible, on every clip', async () => {
    const rows: unknown[] = [];
    for (const v of await allVideos()) {
      const name = basename(v);
      let al = raw.get(name);
      let fps = 0;
      if (!al) {
        const out = join(dir, name);
        // In this thread, with the models beforeAll loaded, while another test file keeps the other core busy; the
        // cancel test above and the identity filter below run the workers.
        const r = await extractInThread({
          input: v,
          output: join(out, 'faces'),
          alignments: join(out, 'a.json'),
          smooth: false,
        });
        fps = r.framesPerSecond;
        al = await load(join(out, 'a.json'));
        raw.set(name, al);
      }
      const n = al.source.frameCount!;
      const hidden = (i: number) => (NOT_VISIBLE[name] ?? []).some(([a, b]) => i >= a && i <= b);
      let visible = 0,
        found = 0;
      for (let i = 0; i < n; i++) {
        if (hidden(i)) continue;
        visible++;
        if ((al.frames[String(i)]?.faces.length ?? 0) > 0) found++;
      }
      const row = {
        metric: 'video_faces',
        video: name,
        frames: n,
        visible,
        withFace: found,
        ratio: +(found / visible).toFixed(4),
        fps: +fps.toFixed(1),
      };
      console.log(JSON.stringify(row));
      rows.push(row);
      expect(Object.keys(al.frames).length).toBe(n);
      expect(found / visible, name).toBe(1);
    }
    expect(rows.length).toBeGreaterThanOrEqual(5);
  });

  it('smoothing lowers landmark jitter on the stillest second of every clip, lagging <= 1 frame on motion', async () => {
    expect(raw.size).toBeGreaterThanOrEqual(5);
    const ratios: number[] = [];
    for (const [name, al] of raw) {
      const seq = longestTrack(al);
      const times = seq.map((_, i) => al.frames[String(i)]?.timeSec ?? i / al.source.fps!);
      const w = stillestWindow(seq, al.source.fps!);
      expect(w, name).not.toBeNull();
      // the face's speed measured in the frames, as the tracker measures it (face/stabilize.ts)
      const frames = (async function* () {
        for await (const f of decodeFrames(td('videos', name)))
          yield { index: f.index, timeSec: f.timeSec, image: new ImagePyramid(f) };
      })();
      const { speeds, motions } = await measureSpeeds(seq, frames);
      const smoothed = smoothSequence(seq, times, SMOOTHING, speeds);
      const plain = smoothSequence(seq, times);
      const before = smoothSequence(seq, times, BEFORE_17);
      const [s0, n0] = [w!.start, w!.len];
      const row = {
        metric: 'jitter',
        video: name,
        window: [s0, s0 + n0 - 1],
        raw: +w!.jitter.toFixed(5),
        smoothed: +jitterAt(smoothed, s0, n0).toFixed(5),
        // the One Euro filter without the image-measured speed (the track before the motion gate)
        ungated: +jitterAt(plain, s0, n0).toFixed(5),
        before17: +jitterAt(before, s0, n0).toFixed(5),
        // the head's own motion as the pixels register it, and each track's movement apart from it
        head: +headMotionAt(seq, motions, s0, n0).toFixed(5),
        floor: +jitterFloorAt(seq, s0, n0).toFixed(5),
        residualRaw: +residualJitterAt(seq, motions, s0, n0).toFixed(5),
        residualBefore17: +residualJitterAt(before, motions, s0, n0).toFixed(5),
        residual: +residualJitterAt(smoothed, motions, s0, n0).toFixed(5),
        // frames the smoothed face centre trails the raw one where the head moves (personD: head turns)
        lagFrames: landmarkLag(seq, smoothed),
        ungatedLagFrames: landmarkLag(seq, plain),
      };
      console.log(JSON.stringify(row));
      expect(row.smoothed, name).toBeLessThan(row.raw);
      // the single-face LivePortrait clips (the edge clips' centres also jump between people and across cuts)
      if (name.startsWith('person')) {
        expect(row.lagFrames, name).toBeLessThanOrEqual(1);
        // the gate opens on motion: no more lag than without it
        expect(row.lagFrames, name).toBeLessThanOrEqual(row.ungatedLagFrames);
      }
      // the still-headed clips: steadier than without the gate and at their measured figures (within 10%: the
      // raw extraction varies a little from run to run); personC and vertical at half their figures before issue 17
      const before17 = STILL[name];
      if (before17 !== undefined) {
        expect(row.smoothed, name).toBeLessThan(row.ungated);
        // it departs from the pixels' motion of the face less than the raw landmarks do (on the moving edge clips,
        // where a smoothed track trails the head, not by much: glasses-hand 0.0195 against 0.0203)
        expect(row.residual, name).toBeLessThan(row.residualRaw);
        expect(row.smoothed, name).toBeLessThanOrEqual(NOW[name]! * 1.1);
        if (HALVED.includes(name)) expect(row.smoothed, name).toBeLessThanOrEqual(before17 / 2);
        ratios.push(row.smoothed / before17);
      }
      // personA's and personB's faces move more than half their figures before issue 17 over the stillest second
      // (measured floors 0.00161 and 0.00224; docs/alignments.md): a track that keeps up cannot reach the halving
      if (name.startsWith('personA') || name.startsWith('personB')) expect(row.floor).toBeGreaterThan(before17! / 2);
    }
    // on average about half as unsteady as before issue 17 (measured: 0.52)
    expect(ratios.length).toBe(Object.keys(STILL).length);
    expect(ratios.reduce((a, b) => a + b, 0) / ratios.length).toBeLessThanOrEqual(0.6);
  });

  it("identity filter: person A's still keeps >= 95% of A's video and none of B's (smoothing on)", async () => {
    const res: Record<string, { frames: number; kept: number; identity: number[] }> = {};
    for (const [who, v] of [
      ['A', videos.personA],
      ['B', videos.personB],
    ] as const) {
      const out = join(dir, `filter-${who}`);
      const r = await runExtract(
        parseOptions(extractOptions, {
          input: v,
          output: join(out, 'faces'),
          alignments: join(out, 'a.json'),
          filter: [personAStill],
        }),
        quietContext(),
      );
      const al = await load(join(out, 'a.json'));
      const ids = Object.values(al.frames).flatMap((f) => f.faces.map((x) => x.identity ?? 0));
      res[who] = { frames: al.source.frameCount!, kept: r.facesWritten, identity: ids };
      expect((await readdir(join(out, 'faces'))).length).toBe(r.facesWritten);
      if (who === 'A') {
        // the stage's own smoothed landmarks are steadier than the raw run's on the same stillest second
        const rawA = raw.get(basename(videos.personA))!;
        const seqRaw = longestTrack(rawA);
        const w = stillestWindow(seqRaw, rawA.source.fps!)!;
        const sm = jitterAt(longestTrack(al), w.start, w.len);
        console.log(
          JSON.stringify({
            metric: 'jitter_stage_smoothed',
            video: basename(v),
            raw: +w.jitter.toFixed(5),
            smoothed: +sm.toFixed(5),
          }),
        );
        expect(sm).toBeLessThan(w.jitter);
      }
    }
    const a = res['A']!,
      b = res['B']!;
    console.log(
      JSON.stringify({
        metric: 'identity_filter',
        keptA: a.kept,
        framesA: a.frames,
        ratioA: +(a.kept / a.frames).toFixed(4),
        keptB: b.kept,
        framesB: b.frames,
        minIdentityA: Math.min(...a.identity),
      }),
    );
    expect(a.kept / a.frames).toBeGreaterThanOrEqual(0.95);
    expect(b.kept).toBe(0);
  });

  it('leaves tf.memory().numTensors where it started', () => {
    expect(tf.memory().numTensors).toBe(tensorsAtStart);
  });
});
