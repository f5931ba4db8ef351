/**
 * Hands in front of a face (issue 15): @vladmandic/human's hand detector (`handtrack`, a CenterNet-style box
 * detector that also labels faces, fists and pinches) and its 21-point hand skeleton (`handlandmark-lite`), both
 * shipped in its models folder and loaded from disk like the face models (human.ts). Each hand becomes the convex
 * hull of its keypoints, grown so it covers the fingers' and the palm's width and not only their middle lines
 * (the keypoints sit on the bones), and is then kept for each face whose region it overlaps. `convert --mask
 * ...+hands` cuts those hulls out of the face mask (convert/blend.ts); `extract --hands` stores them per face.
 *
 * Human runs the hand models itself (its pipeline crops, rotates and re-detects); we give it the frame as a tensor
 * and read `keypoints` in frame pixels. Caching between calls is off (`skipFrames: 0`): every frame is detected on
 * its own, so results do not depend on the order frames are seen in.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../../src-shared/errors';
import { convexHull, pointBounds } from '../image/raster';
import { humanModelsDir, humanPackageDir, loadFaceModels } from './human';
import type { Point2, RgbImage } from './types';

const require = createRequire(import.meta.url);

/** One hand found in a frame. */
export interface HandFound {
  /** Detection score 0..1 (Human's box score x skeleton score). */
  score: number;
  /** Human's class of the detection: hand, fist, pinch, point, tip, pinchtip. */
  label: string;
  /** [x, y, w, h] in frame pixels. */
  box: [number, number, number, number];
  /** The 21 keypoints in frame pixels (absent when the skeleton model did not confirm the hand). */
  keypoints: Point2[];
  /** The hand as grown convex polygons (palm and finger bones, see `handPolygons`), frame pixels. */
  polygons: Point2[][];
}

export interface HandOptions {
  /** Minimum hand score (Human's `hand.minConfidence`). */
  minConfidence: number;
  /** Most hands per frame. */
  maxHands: number;
  /** Growth of the keypoint hull, as a fraction of the hand's size (the larger side of its keypoint box). */
  dilate: number;
}

/**
 * Defaults measured on the 20 composites of tests/unit/hands.test.ts (a real hand over real faces; docs/masks.md):
 * growth 0.1 of the hand's size (a finger is about a fifth of the hand across and its keypoints run along its
 * middle; 0.08 left 11-14% of the hand uncut on 6 composites, 0.1 on 2), score 0.3 (0.5 missed 3 more hands).
 */
export const DEFAULT_HANDS: HandOptions = { minConfidence: 0.3, maxHands: 4, dilate: 0.1 };

interface HumanHandInstance {
  init(): Promise<void>;
  load(): Promise<void>;
  detect(input: tf.Tensor, config?: Record<string, unknown>): Promise<{ hand?: HumanHand[]; error?: string | null }>;
}
interface HumanHand {
  score: number;
  boxScore: number;
  fingerScore: number;
  box: [number, number, number, number];
  keypoints: Array<[number, number, number?]>;
  label: string;
}

let loading: Promise<HumanHandInstance> | null = null;

function handConfig(o: HandOptions): Record<string, unknown> {
  return {
    hand: {
      enabled: true,
      rotation: true,
      skipFrames: 0,
      skipTime: 0,
      minConfidence: o.minConfidence,
      iouThreshold: 0.2,
      maxDetected: o.maxHands,
      landmarks: true,
      detector: { modelPath: 'handtrack.json' },
      skeleton: { modelPath: 'handlandmark-lite.json' },
    },
  };
}

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
      ...handConfig(DEFAULT_HANDS),
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

/** The convex hull of all the keypoints grown by `dilate` x the hand's size (the hand's outline as one polygon). */
export function handHull(keypoints: readonly Point2[], dilate: number): Point2[] {
  return grownHull(keypoints, dilate * extent(keypoints));
}

/**
 * Finds the hands in a frame (RGB24), or in `region` of it ([x, y, w, h], frame pixels; clipped to the frame):
 * a hand near a face is found more surely in a crop around the face, where it is larger to the detector.
 */
export async function detectHands(
  image: RgbImage,
  o: HandOptions = DEFAULT_HANDS,
  region?: readonly [number, number, number, number],
): Promise<HandFound[]> {
  const human = await loadHandModels();
  const x0 = region ? Math.max(0, Math.floor(region[0])) : 0,
    y0 = region ? Math.max(0, Math.floor(region[1])) : 0;
  const x1 = region ? Math.min(image.width, Math.ceil(region[0] + region[2])) : image.width,
    y1 = region ? Math.min(image.height, Math.ceil(region[1] + region[3])) : image.height;
  if (x1 - x0 < 16 || y1 - y0 < 16) return [];
  const w = x1 - x0,
    h = y1 - y0;
  const pixels = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const s = ((y0 + y) * image.width + x0) * 3;
    for (let i = 0; i < w * 3; i++) pixels[y * w * 3 + i] = image.data[s + i]!;
  }
  const input = tf.tensor4d(pixels, [1, h, w, 3], 'float32');
  let res: { hand?: HumanHand[]; error?: string | null };
  try {
    res = await human.detect(input, handConfig(o));
  } finally {
    input.dispose();
  }
  if (res.error) throw new Error(`hand detection failed: ${res.error}`);
  const out: HandFound[] = [];
  for (const h of res.hand ?? []) {
    // The detector's classes include `face`: a face is not a hand in front of itself.
    if (h.label === 'face' || h.score < o.minConfidence) continue;
    const keypoints = h.keypoints.map((p) => [p[0] + x0, p[1] + y0] as Point2);
    const box = [h.box[0] + x0, h.box[1] + y0, h.box[2], h.box[3]] as [number, number, number, number];
    // Without a skeleton the box is the hand.
    const polygons =
      keypoints.length >= 3
        ? handPolygons(keypoints, o.dilate)
        : [
            [
              [box[0], box[1]],
              [box[0] + box[2], box[1]],
              [box[0] + box[2], box[1] + box[3]],
              [box[0], box[1] + box[3]],
            ] as Point2[],
          ];
    out.push({ score: h.score, label: h.label, box, keypoints, polygons });
  }
  return out;
}

/**
 * The region around a face where hands over it are looked for, and kept: the square of 3x the larger side of its
 * landmarks' box, about its centre. Any of the face's masks (the model's square, grown by `--erosion` and
 * feathered) stays inside it in practice; a hand polygon outside the blend's region does nothing.
 */
export function handSearchRegion(landmarks: readonly Point2[]): [number, number, number, number] {
  const [x0, y0, x1, y1] = pointBounds(landmarks);
  const side = 3 * Math.max(x1 - x0, y1 - y0);
  return [(x0 + x1) / 2 - side / 2, (y0 + y1) / 2 - side / 2, side, side];
}

/** Area of a polygon's overlap with a rectangle [x, y, w, h], by clipping (Sutherland-Hodgman). */
function overlapArea(poly: readonly Point2[], rect: readonly [number, number, number, number]): number {
  let pts: Point2[] = poly.map((p) => [p[0], p[1]] as Point2);
  const clip = (inside: (p: Point2) => boolean, cut: (a: Point2, b: Point2) => Point2) => {
    const out: Point2[] = [];
    for (let i = 0; i < pts.length; i++) {
      const a = pts[i]!,
        b = pts[(i + 1) % pts.length]!;
      if (inside(b)) {
        if (!inside(a)) out.push(cut(a, b));
        out.push(b);
      } else if (inside(a)) out.push(cut(a, b));
    }
    pts = out;
  };
  const [x0, y0, w, h] = rect;
  const x1 = x0 + w,
    y1 = y0 + h;
  const atX = (x: number) => (a: Point2, b: Point2) =>
    [x, a[1] + ((x - a[0]) * (b[1] - a[1])) / (b[0] - a[0])] as Point2;
  const atY = (y: number) => (a: Point2, b: Point2) =>
    [a[0] + ((y - a[1]) * (b[0] - a[0])) / (b[1] - a[1]), y] as Point2;
  clip((p) => p[0] >= x0, atX(x0));
  clip((p) => p[0] <= x1, atX(x1));
  clip((p) => p[1] >= y0, atY(y0));
  clip((p) => p[1] <= y1, atY(y1));
  let a = 0;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]!,
      q = pts[(i + 1) % pts.length]!;
    a += p[0] * q[1] - q[0] * p[1];
  }
  return Math.abs(a) / 2;
}

/**
 * The polygons of the `hands` near a face (any of a hand's polygons inside the face's `handSearchRegion`), rounded
 * to 0.01 px for the alignments file.
 */
export function handsOverFace(hands: readonly HandFound[], landmarks: readonly Point2[]): Point2[][] {
  const rect = handSearchRegion(landmarks);
  const r2 = (v: number) => Math.round(v * 100) / 100;
  return hands
    .filter((h) => h.polygons.some((poly) => overlapArea(poly, rect) > 0))
    .flatMap((h) => h.polygons.map((poly) => poly.map((p) => [r2(p[0]), r2(p[1])] as Point2)));
}

/** The alignments' `masks.hands` of a face: the hands found near it in the frame (`extract --hands`). */
export async function handMasksOf(image: RgbImage, landmarks: readonly Point2[]): Promise<Point2[][]> {
  return handsOverFace(await detectHands(image, DEFAULT_HANDS, handSearchRegion(landmarks)), landmarks);
}
