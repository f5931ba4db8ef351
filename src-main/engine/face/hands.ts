/**
 * Hands in front of a face (issue 15): @vladmandic/human's hand detector (`handtrack`, a CenterNet-style box
 * detector that also labels faces, fists and pinches) and its 21-point hand skeleton (`handlandmark-lite`,
 * MediaPipe Hands' landmark model: https://arxiv.org/abs/2006.10214), both shipped in its models folder and loaded
 * from disk like the face models (human.ts). Each hand becomes convex polygons around its palm and finger bones,
 * grown so they cover the fingers' width and not only their middle lines (the keypoints sit on the bones).
 * `convert --mask ...+hands` cuts them out of the face mask (convert/blend.ts); `extract --hands` stores them per
 * face.
 *
 * How a hand near a face is found (docs/masks.md, measured on the composites of tests/unit/hands.test.ts):
 * 1. Human's detector runs on crops around the face (1.5x and 2x the face's size, the 2x one also mirrored: the
 *    detector is neither scale- nor mirror-invariant, and a hand a pass misses another often finds) at a low box
 *    score (0.05), and Human's skeleton on each box. Human crops its skeleton input upright from the box, so a
 *    tilted hand gets tilted, often wrong keypoints, and its skeleton score hardly tells a hand (0.73 at most) from
 *    a mouth seen as a fist (0.72).
 * 2. So each candidate is looked at again the MediaPipe way: the skeleton runs on a square crop turned so the
 *    hand points up (wrist to middle finger root), 1.45x the keypoints' extent. Its keypoints follow the tilted
 *    hand, and its hand-presence score separates: 0.92-0.99 on the real hands, at most 0.23 on the other
 *    candidates of a hand's size.
 * 3. A hand in front of a face is nearer the camera than the face, so it looks at least about its real size next
 *    to it: candidates smaller than 0.4 of the face's landmark extent are dropped (the fists the detector sees in
 *    mouths and on faces span 0.1-0.4 of them, and some reach presence 0.89 on the second look), and of
 *    overlapping ones the best is kept.
 *
 * Caching between calls is off (`skipFrames: 0`): every frame is detected on its own, so results do not depend on
 * the order frames are seen in.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import { UserError } from '../../../src-shared/errors';
import { convexHull, pointBounds } from '../image/raster';
import { roiMatrix, type Roi } from './detector';
import { humanModelsDir, humanPackageDir, loadFaceModels } from './human';
import { ImagePyramid, warpToFloat } from './image';
import type { Matrix2x3, Point2, RgbImage } from './types';
import { applyMatrix, invertMatrix } from './umeyama';

const require = createRequire(import.meta.url);

/** One hand found in a frame. */
export interface HandFound {
  /** Hand presence 0..1: the skeleton model's score on the hand's upright crop. */
  score: number;
  /** Human's class of the first detection: hand, fist, pinch, point, tip, pinchtip. */
  label: string;
  /** [x, y, w, h] of the keypoints, frame pixels. */
  box: [number, number, number, number];
  /** The 21 keypoints in frame pixels (MediaPipe order). */
  keypoints: Point2[];
  /** The hand as grown convex polygons (palm and finger bones, see `handPolygons`), frame pixels. */
  polygons: Point2[][];
}

export interface HandOptions {
  /** Minimum hand presence (0..1) of the skeleton on the hand's upright crop. */
  minConfidence: number;
  /** Most hands kept. */
  maxHands: number;
  /** Growth of the palm and bone hulls, as a fraction of the hand's size (the larger side of its keypoint box). */
  dilate: number;
}

/**
 * Defaults measured on the composites of tests/unit/hands.test.ts, 20 tuned and 20 held out (docs/masks.md):
 * growth 0.09 of the hand's size (a finger is about a fifth of the hand across and its keypoints run along its
 * middle; 0.08 left up to 11% of a held-out hand uncut, 0.1 brought a held-out face's IoU down to 0.85), presence
 * 0.5 (real hands 0.92-0.99, other candidates of a hand's size 0.23 at most).
 */
export const DEFAULT_HANDS: HandOptions = { minConfidence: 0.5, maxHands: 4, dilate: 0.09 };

/** One look for hands: a rectangle of the frame ([x, y, w, h], clipped to it), mirrored or not. */
export interface HandPass {
  rect: readonly [number, number, number, number];
  mirror: boolean;
}

/** Where and how large hands are looked for: the passes, and the smallest keypoint extent kept (pixels). */
export interface HandSearch {
  passes: HandPass[];
  minSize: number;
}

/** Human's box score down to which detections are candidates (each is then checked on its upright crop). */
const CANDIDATE_SCORE = 0.05;
/** Candidates per pass. */
const CANDIDATES = 8;
/** Side of the upright skeleton crop over the keypoints' extent (Human crops its boxes at 1.4x). */
const SKELETON_CROP = 1.45;
/** The skeleton model's input side. */
const SKELETON_SIZE = 224;

interface HumanHandInstance {
  init(): Promise<void>;
  load(): Promise<void>;
  detect(input: tf.Tensor, config?: Record<string, unknown>): Promise<{ hand?: HumanHand[]; error?: string | null }>;
  models: { models: Record<string, GraphModel | null> };
}
interface HumanHand {
  score: number;
  box: [number, number, number, number];
  keypoints: Array<[number, number, number?]>;
  label: string;
}

let loading: Promise<HumanHandInstance> | null = null;

/** Human's hand settings: a low box score, so that the upright second look decides (module comment). */
const HAND_CONFIG = {
  hand: {
    enabled: true,
    rotation: true,
    skipFrames: 0,
    skipTime: 0,
    minConfidence: CANDIDATE_SCORE,
    iouThreshold: 0.2,
    maxDetected: CANDIDATES,
    landmarks: true,
    detector: { modelPath: 'handtrack.json' },
    skeleton: { modelPath: 'handlandmark-lite.json' },
  },
};

/** Loads Human with only its hand models, on the backend the face models use (wasm), once per process. */
export function loadHandModels(): Promise<HumanHandInstance> {
  loading ??= (async () => {
    // The face models set up the backend and the file:// load router the hand models load through.
    await loadFaceModels('wasm');
    const H = require(join(humanPackageDir(), 'dist', 'human.node-wasm.js')) as {
      Human: new (config: Record<string, unknown>) => HumanHandInstance;
    };
    const human = new H.Human({
      backend: 'wasm',
      modelBasePath: `${pathToFileURL(humanModelsDir()).href}/`,
      debug: false,
      async: true,
      warmup: 'none',
      cacheSensitivity: 0,
      face: { enabled: false },
      body: { enabled: false },
      object: { enabled: false },
      gesture: { enabled: false },
      segmentation: { enabled: false },
      filter: { enabled: false },
      ...HAND_CONFIG,
    });
    await human.load();
    return human;
  })().catch((e: unknown) => {
    loading = null;
    throw new UserError('unavailable', `hand models could not be loaded from ${humanModelsDir()}: ${String(e)}`);
  });
  return loading;
}

/** The hand's bones as keypoint pairs (MediaPipe's 21-point order: 0 wrist, then 4 per finger from the thumb). */
const BONES: ReadonlyArray<readonly [number, number]> = [
  [1, 2],
  [2, 3],
  [3, 4],
  [5, 6],
  [6, 7],
  [7, 8],
  [9, 10],
  [10, 11],
  [11, 12],
  [13, 14],
  [14, 15],
  [15, 16],
  [17, 18],
  [18, 19],
  [19, 20],
];
/** Wrist and the fingers' roots: the palm. */
const PALM = [0, 1, 2, 5, 9, 13, 17];

/** The larger side of the points' bounding box. */
function extent(points: readonly Point2[]): number {
  const [x0, y0, x1, y1] = pointBounds(points);
  return Math.max(x1 - x0, y1 - y0);
}

/**
 * The convex hull of `points` grown by `r` pixels: each point is replaced by the 8 corners of an octagon that holds
 * the disc of radius r, and the hull taken again (the Minkowski sum of the hull and the disc, a little larger).
 */
export function grownHull(points: readonly Point2[], r: number): Point2[] {
  if (r <= 0) return convexHull(points);
  const R = r / Math.cos(Math.PI / 8);
  const grown: Point2[] = [];
  for (const p of convexHull(points))
    for (let k = 0; k < 8; k++) {
      const a = ((k + 0.5) * Math.PI) / 4;
      grown.push([p[0] + R * Math.cos(a), p[1] + R * Math.sin(a)]);
    }
  return convexHull(grown);
}

/**
 * A hand as convex polygons that follow its shape: the palm (wrist and finger roots) and each finger bone, grown
 * by `dilate` x the hand's size (the keypoints sit on the bones: the growth covers half a finger's width and the
 * landmark model's error). One hull of all 21 points would also cover the gaps between spread fingers and
 * the web of the thumb, which are face.
 */
export function handPolygons(keypoints: readonly Point2[], dilate: number): Point2[][] {
  const r = dilate * extent(keypoints);
  if (keypoints.length < 21) return [grownHull(keypoints, r)];
  const out = [
    grownHull(
      PALM.map((i) => keypoints[i]!),
      r,
    ),
  ];
  for (const [a, b] of BONES) out.push(grownHull([keypoints[a]!, keypoints[b]!], r));
  return out;
}

/**
 * The square crop, turned so the hand points up (wrist to the middle finger's root), that the skeleton looks at
 * again: MediaPipe's landmarks-to-region rule, `SKELETON_CROP` x the keypoints' extent in the turned frame.
 */
function uprightRoi(keypoints: readonly Point2[]): Roi {
  const w = keypoints[0]!,
    m = keypoints[9]!;
  const angle = Math.atan2(m[1] - w[1], m[0] - w[0]) + Math.PI / 2;
  const c = Math.cos(angle),
    s = Math.sin(angle);
  const [x0, y0, x1, y1] = pointBounds(keypoints.map((p) => [c * p[0] + s * p[1], -s * p[0] + c * p[1]]));
  const mx = (x0 + x1) / 2,
    my = (y0 + y1) / 2;
  return { cx: c * mx - s * my, cy: s * mx + c * my, size: SKELETON_CROP * Math.max(x1 - x0, y1 - y0), angle };
}

/** Runs the skeleton model on the frame warped by `m` (frame -> model input): presence 0..1 and 21 keypoints. */
async function skeletonAt(
  skeleton: GraphModel,
  pyr: ImagePyramid,
  m: Matrix2x3,
): Promise<{ score: number; keypoints: Point2[] }> {
  const pixels = warpToFloat(pyr, m, SKELETON_SIZE, SKELETON_SIZE, { mul: 1 / 255, add: 0 });
  const [score, points] = tf.tidy(() => {
    const input = tf.tensor4d(pixels, [1, SKELETON_SIZE, SKELETON_SIZE, 3]);
    return skeleton.execute(input, ['Identity_1', 'Identity']) as tf.Tensor[];
  });
  try {
    const presence = (await score!.data())[0]!;
    const raw = await points!.data();
    const back = invertMatrix(m);
    const keypoints: Point2[] = [];
    // The model's coordinates are continuous (pixel u spans [u, u+1]); the warp's pixel centres are integers.
    for (let i = 0; i < 21; i++) keypoints.push(applyMatrix(back, [raw[i * 3]! - 0.5, raw[i * 3 + 1]! - 0.5]));
    return { score: presence, keypoints };
  } finally {
    tf.dispose([score!, points!]);
  }
}

/** Human's detections (with its skeleton's keypoints) in one pass, keypoints in frame pixels. */
async function humanPass(
  human: HumanHandInstance,
  pyr: ImagePyramid,
  pass: HandPass,
): Promise<Array<{ label: string; keypoints: Point2[] }>> {
  const [rx, ry, rw, rh] = pass.rect;
  const x0 = Math.max(0, Math.floor(rx)),
    y0 = Math.max(0, Math.floor(ry));
  const w = Math.min(pyr.width, Math.ceil(rx + rw)) - x0,
    h = Math.min(pyr.height, Math.ceil(ry + rh)) - y0;
  if (w < 16 || h < 16) return [];
  // Frame -> crop (pixel centres kept), mirrored left to right when asked.
  const m: Matrix2x3 = pass.mirror
    ? [
        [-1, 0, x0 + w - 1],
        [0, 1, -y0],
      ]
    : [
        [1, 0, -x0],
        [0, 1, -y0],
      ];
  const input = tf.tensor4d(warpToFloat(pyr, m, w, h), [1, h, w, 3], 'float32');
  let res: { hand?: HumanHand[]; error?: string | null };
  try {
    res = await human.detect(input, HAND_CONFIG);
  } finally {
    input.dispose();
  }
  if (res.error) throw new Error(`hand detection failed: ${res.error}`);
  const back = invertMatrix(m);
  return (res.hand ?? [])
    .filter((d) => d.label !== 'face' && d.keypoints.length === 21) // the detector's classes include faces
    .map((d) => ({ label: d.label, keypoints: d.keypoints.map((p) => applyMatrix(back, [p[0] - 0.5, p[1] - 0.5])) }));
}

/** Whether two boxes [x0, y0, x1, y1] overlap by more than 0.3 of the smaller one. */
function sameHand(a: readonly number[], b: readonly number[]): boolean {
  const w = Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!),
    h = Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!);
  const area = (r: readonly number[]) => (r[2]! - r[0]!) * (r[3]! - r[1]!);
  return w > 0 && h > 0 && w * h > 0.3 * Math.min(area(a), area(b));
}

/**
 * Finds the hands in a frame (RGB24): Human's candidates in each pass of `search` (default: the whole frame), each
 * checked on its upright crop; hands whose keypoints span less than `search.minSize` pixels are dropped, and of
 * overlapping hands the one of highest presence is kept.
 */
export async function detectHands(
  image: RgbImage,
  o: HandOptions = DEFAULT_HANDS,
  search: HandSearch = { passes: [{ rect: [0, 0, image.width, image.height], mirror: false }], minSize: 0 },
): Promise<HandFound[]> {
  const human = await loadHandModels();
  const skeleton = human.models.models.handskeleton;
  if (!skeleton) throw new UserError('unavailable', `hand skeleton model missing in ${humanModelsDir()}`);
  const pyr = new ImagePyramid(image);
  const found: HandFound[] = [];
  for (const pass of search.passes)
    for (const c of await humanPass(human, pyr, pass)) {
      // Human's keypoints of a tilted hand can be short: the upright look decides the size.
      if (extent(c.keypoints) < 0.75 * search.minSize) continue;
      const { score, keypoints } = await skeletonAt(skeleton, pyr, roiMatrix(uprightRoi(c.keypoints), SKELETON_SIZE));
      if (score < o.minConfidence || extent(keypoints) < search.minSize) continue;
      const [x0, y0, x1, y1] = pointBounds(keypoints);
      found.push({
        score,
        label: c.label,
        box: [x0, y0, x1 - x0, y1 - y0],
        keypoints,
        polygons: handPolygons(keypoints, o.dilate),
      });
    }
  found.sort((a, b) => b.score - a.score);
  const kept: HandFound[] = [];
  const corners = (h: HandFound) => [h.box[0], h.box[1], h.box[0] + h.box[2], h.box[1] + h.box[3]];
  for (const h of found) {
    if (kept.length < o.maxHands && !kept.some((k) => sameHand(corners(k), corners(h)))) kept.push(h);
  }
  return kept;
}

/**
 * Where hands over a face are looked for: squares of 1.5x and 2x the larger side of its landmarks' box about its
 * centre, the 2x one also mirrored; hands smaller than 0.4 of that side are not in front of the face (module
 * comment). Any of the face's masks stays inside the 2x square in practice.
 */
export function handSearchNearFace(landmarks: readonly Point2[]): HandSearch {
  const [x0, y0, x1, y1] = pointBounds(landmarks);
  const side = Math.max(x1 - x0, y1 - y0);
  const square = (k: number) =>
    [(x0 + x1) / 2 - (k * side) / 2, (y0 + y1) / 2 - (k * side) / 2, k * side, k * side] as const;
  return {
    passes: [
      { rect: square(1.5), mirror: false },
      { rect: square(2), mirror: false },
      { rect: square(2), mirror: true },
    ],
    minSize: 0.4 * side,
  };
}

/**
 * The alignments' `masks.hands` of a face (`extract --hands`, or `convert --mask ...+hands` without them): the
 * polygons of the hands in front of it, rounded to 0.01 px.
 */
export async function handMasksOf(image: RgbImage, landmarks: readonly Point2[]): Promise<Point2[][]> {
  const r2 = (v: number) => Math.round(v * 100) / 100;
  const hands = await detectHands(image, DEFAULT_HANDS, handSearchNearFace(landmarks));
  return hands.flatMap((h) => h.polygons.map((poly) => poly.map((p) => [r2(p[0]), r2(p[1])] as Point2)));
}
