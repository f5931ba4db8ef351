/**
 * The defining property of every mask, colour, blend and sharpen option, measured on a real frame of person A
 * (landmarks by the face detector, alignment as extract does it) with synthetic swappers that change the face
 * in a known way.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { FaceDetector } from '../../src-main/engine/face/detector';
import { loadFaceModels } from '../../src-main/engine/face/human';
import { ImagePyramid } from '../../src-main/engine/face/image';
import { alignFace } from '../../src-main/engine/face/align';
import type { Point2, RgbImage } from '../../src-main/engine/face/types';
import { convertFrame, type FaceToSwap } from '../../src-main/engine/convert/frame';
import {
  BlendScratch,
  blendFace,
  DEFAULT_BLEND,
  type BlendOptions,
  type BlendResult,
  type ModelFace,
} from '../../src-main/engine/convert/blend';
import { syntheticSwapper, type FaceSwapper } from '../../src-main/engine/convert/swapper';
import { convexHull, gaussianBlur } from '../../src-main/engine/image/raster';
import { labStats } from '../../src-main/engine/convert/color';
import { sharpenRadius } from '../../src-main/engine/convert/sharpen';
import { hasTestdata, videos } from '../helpers/testdata';

const ALIGNED = 256;
let frame: RgbImage;
let face: FaceToSwap;

beforeAll(async () => {
  for await (const f of decodeFrames(videos.personA, { start: 60, end: 61 }))
    frame = { width: f.width, height: f.height, data: f.data };
  const det = new FaceDetector(await loadFaceModels('wasm'));
  const faces = await det.detect(new ImagePyramid(frame));
  const lm = faces[0]!.landmarks68;
  face = { matrix: alignFace(lm, ALIGNED).matrix, alignedSize: ALIGNED, landmarks: lm };
}, 120_000);

async function run(swapper: FaceSwapper, o: Partial<BlendOptions>): Promise<{ out: Buffer; r: BlendResult }> {
  const res = await convertFrame(frame, [face], swapper, { ...DEFAULT_BLEND, color: 'none', blurSize: 0, ...o });
  return { out: res.data, r: res.faces[0]! };
}

const shift = syntheticSwapper({ kind: 'shift', amount: [0.16, -0.1, 0.08] });
const area = (m: Float32Array) => m.reduce((a, v) => a + (v >= 0.5 ? 1 : 0), 0);

/** Frame pixel index of ROI pixel i. */
function at(r: BlendResult, i: number): number {
  const x = i % r.roi.w,
    y = (i - x) / r.roi.w;
  return ((r.roi.y + y) * frame.width + r.roi.x + x) * 3;
}

function regionValues(buf: Uint8Array, r: BlendResult, region: Float32Array, c: number): number[] {
  const v: number[] = [];
  for (let i = 0; i < region.length; i++) if (region[i]! >= 0.5) v.push(buf[at(r, i) + c]!);
  return v;
}
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
function quantile(a: number[], q: number): number {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}
function polyArea(p: Point2[]): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i]!,
      b = p[(i + 1) % p.length]!;
    s += a[0] * b[1] - b[0] * a[1];
  }
  return Math.abs(s) / 2;
}
/** Whole-frame byte diff outside the pixels the blend touched (alpha > 0). */
function changedOutside(out: Uint8Array, r: BlendResult): number {
  const touched = new Uint8Array(frame.width * frame.height);
  for (let i = 0; i < r.alpha.length; i++) if (r.alpha[i]! > 1 / 512) touched[at(r, i) / 3] = 1;
  let n = 0;
  for (let p = 0; p < touched.length; p++)
    if (
      !touched[p] &&
      (out[p * 3] !== frame.data[p * 3] ||
        out[p * 3 + 1] !== frame.data[p * 3 + 1] ||
        out[p * 3 + 2] !== frame.data[p * 3 + 2])
    )
      n++;
  return n;
}

describe.skipIf(!hasTestdata)('convert blend options on a real frame', () => {
  it('rect: the mask is the model square (side^2 pixels); nothing outside the blended pixels changes', async () => {
    const { out, r } = await run(shift, { mask: 'rect' });
    expect(area(r.mask) / r.faceSide ** 2).toBeGreaterThan(0.97);
    expect(area(r.mask) / r.faceSide ** 2).toBeLessThan(1.03);
    expect(changedOutside(out, r)).toBe(0);
    // Inside, the face changed by the synthetic cast.
    const d = mean(regionValues(out, r, r.mask, 0)) - mean(regionValues(frame.data, r, r.mask, 0));
    expect(d).toBeGreaterThan(30);
  });

  it('facehull: the mask is the convex hull of the 68 landmarks', async () => {
    const { out, r } = await run(shift, { mask: 'facehull' });
    const hullArea = polyArea(convexHull(face.landmarks));
    expect(Math.abs(area(r.mask) - hullArea) / hullArea).toBeLessThan(0.03);
    expect(changedOutside(out, r)).toBe(0);
  });

  it('facehullandrect: the intersection of hull and square', async () => {
    const hull = (await run(shift, { mask: 'facehull' })).r;
    const rect = (await run(shift, { mask: 'rect' })).r;
    const both = (await run(shift, { mask: 'facehullandrect' })).r;
    // Compare in frame pixels: each mask lives in its own ROI.
    const pixels = (r: BlendResult) =>
      new Set([...r.mask.keys()].filter((i) => r.mask[i]! >= 0.5).map((i) => at(r, i)));
    const rectSet = pixels(rect);
    const inter = [...pixels(hull)].filter((p) => rectSet.has(p)).length;
    expect(area(both.mask)).toBe(inter);
    expect(area(both.mask)).toBeLessThanOrEqual(Math.min(area(hull.mask), area(rect.mask)));
  });

  it('predicted: the mask is the model mask warped into the frame', async () => {
    const masked = syntheticSwapper({ kind: 'shift', mask: true });
    const { r } = await run(masked, { mask: 'predicted' });
    // The synthetic mask is an ellipse with radii 0.4 and 0.44 of the square.
    const expected = Math.PI * 0.4 * 0.44 * r.faceSide ** 2;
    expect(Math.abs(area(r.mask) - expected) / expected).toBeLessThan(0.04);
  });

  it('erosion: positive shrinks the mask, negative grows it', async () => {
    const base = area((await run(shift, { erosion: 0 })).r.mask);
    const eroded = area((await run(shift, { erosion: 5 })).r.mask);
    const dilated = area((await run(shift, { erosion: -5 })).r.mask);
    expect(eroded).toBeLessThan(base * 0.85);
    expect(dilated).toBeGreaterThan(base * 1.15);
  });

  it('blur-size: 0 gives a hard edge; larger values widen the feather, keeping the mask area', async () => {
    const soft = (a: Float32Array) => a.reduce((n, v) => n + (v > 0.02 && v < 0.98 ? 1 : 0), 0);
    const r0 = (await run(shift, { blurSize: 0 })).r;
    const r5 = (await run(shift, { blurSize: 5 })).r;
    const r15 = (await run(shift, { blurSize: 15 })).r;
    expect(soft(r0.alpha)).toBe(0);
    expect(soft(r5.alpha)).toBeGreaterThan(0);
    expect(soft(r15.alpha)).toBeGreaterThan(soft(r5.alpha) * 2);
    const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
    expect(Math.abs(sum(r15.alpha) - sum(r0.alpha)) / sum(r0.alpha)).toBeLessThan(0.03);
  });

  it('color avg: the swapped region keeps the original mean colour (within 2 levels)', async () => {
    const none = await run(shift, { color: 'none' });
    const avg = await run(shift, { color: 'avg' });
    for (let c = 0; c < 3; c++) {
      const o = mean(regionValues(frame.data, avg.r, avg.r.mask, c));
      expect(Math.abs(mean(regionValues(avg.out, avg.r, avg.r.mask, c)) - o)).toBeLessThanOrEqual(2);
      expect(Math.abs(mean(regionValues(none.out, none.r, none.r.mask, c)) - o)).toBeGreaterThan(15);
    }
  });

  it('color hist: the swapped region keeps the original histogram (quantiles within 3 levels)', async () => {
    const contrast = syntheticSwapper({ kind: 'invert' });
    const hist = await run(contrast, { color: 'hist' });
    const none = await run(contrast, { color: 'none' });
    for (let c = 0; c < 3; c++) {
      const o = regionValues(frame.data, hist.r, hist.r.mask, c),
        h = regionValues(hist.out, hist.r, hist.r.mask, c);
      const n = regionValues(none.out, none.r, none.r.mask, c);
      for (const q of [0.1, 0.25, 0.5, 0.75, 0.9])
        expect(Math.abs(quantile(h, q) - quantile(o, q))).toBeLessThanOrEqual(3);
      expect(Math.abs(quantile(n, 0.5) - quantile(o, 0.5))).toBeGreaterThan(20);
    }
  });

  it('color reinhard: the swapped region keeps the original Lab mean (within 1) and spread (within 5%)', async () => {
    const cast = syntheticSwapper({ kind: 'shift', amount: [0.2, 0.05, -0.1] });
    const { out, r } = await run(cast, { color: 'reinhard' });
    const region = r.mask;
    const sub = (buf: Uint8Array) => {
      const v: number[] = [];
      for (let i = 0; i < region.length; i++) for (let c = 0; c < 3; c++) v.push(buf[at(r, i) + c]!);
      return v;
    };
    const so = labStats(sub(frame.data), region),
      sr = labStats(sub(out), region);
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(sr.mean[c]! - so.mean[c]!)).toBeLessThan(1);
      expect(Math.abs(sr.std[c]! - so.std[c]!) / so.std[c]!).toBeLessThan(0.05);
    }
  });

  it('seamless: no colour step along the mask border (a plain paste has one)', async () => {
    // Mean |inside - outside| over 4-neighbour pairs straddling the mask border, minus the frame's own.
    function step(out: Uint8Array, r: BlendResult): number {
      const { w } = r.roi;
      let s = 0,
        n = 0;
      for (let i = 0; i < r.mask.length; i++) {
        if (r.mask[i]! < 0.5) continue;
        for (const j of [i - 1, i + 1, i - w, i + w]) {
          if (j < 0 || j >= r.mask.length || r.mask[j]! >= 0.5) continue;
          for (let c = 0; c < 3; c++)
            s +=
              Math.abs(out[at(r, i) + c]! - out[at(r, j) + c]!) -
              Math.abs(frame.data[at(r, i) + c]! - frame.data[at(r, j) + c]!);
          n += 3;
        }
      }
      return s / n;
    }
    const plain = await run(shift, { seamless: false });
    const clone = await run(shift, { seamless: true });
    expect(step(plain.out, plain.r)).toBeGreaterThan(15);
    expect(step(clone.out, clone.r)).toBeLessThan(1.5);
    // The inside still changed: gradients of the new face, not a copy of the frame.
    let diff = 0;
    for (let i = 0; i < clone.r.mask.length; i++)
      if (clone.r.mask[i]! >= 0.5) diff += Math.abs(clone.out[at(clone.r, i)]! - frame.data[at(clone.r, i)]!);
    expect(diff).toBeGreaterThan(0);
  });

  it('sharpen box/gaussian: more local contrast (high-pass at the sharpen radius) in the face than none', async () => {
    const soft = syntheticSwapper({ kind: 'identity' });
    // Mean |pixel - mean of its (2R+1)^2 box| inside the mask, R = the sharpen radius.
    function localContrast(out: Uint8Array, r: BlendResult): number {
      const { w, h } = r.roi,
        R = Math.max(1, Math.round(sharpenRadius(r.faceSide)));
      let s = 0,
        n = 0;
      for (let y = R; y < h - R; y++)
        for (let x = R; x < w - R; x++) {
          const i = y * w + x;
          if (r.mask[i]! < 0.5) continue;
          let m = 0;
          for (let dy = -R; dy <= R; dy++) for (let dx = -R; dx <= R; dx++) m += out[at(r, i + dy * w + dx)]!;
          s += Math.abs(out[at(r, i)]! - m / (2 * R + 1) ** 2);
          n++;
        }
      return s / n;
    }
    const none = await run(soft, { sharpen: 'none' });
    const box = await run(soft, { sharpen: 'box' });
    const gauss = await run(soft, { sharpen: 'gaussian' });
    const e0 = localContrast(none.out, none.r);
    expect(localContrast(box.out, box.r)).toBeGreaterThan(e0 * 1.3);
    expect(localContrast(gauss.out, gauss.r)).toBeGreaterThan(e0 * 1.3);
    // Sharpening adds no colour cast: the region mean stays within 1 level.
    expect(
      Math.abs(
        mean(regionValues(gauss.out, gauss.r, gauss.r.mask, 1)) - mean(regionValues(none.out, none.r, none.r.mask, 1)),
      ),
    ).toBeLessThan(1);
  });
});

describe('the blend on reused planes', () => {
  /** A seeded generator (mulberry32), so every run draws the same pixels. */
  function random(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it('the feather equals a column-by-column box pass to the bit (the vertical pass runs a row at a time)', () => {
    const rnd = random(7);
    for (const [w, h, sigma] of [
      [37, 23, 2.3],
      [5, 40, 4],
      [64, 3, 1.1],
    ] as const) {
      const plane = Float32Array.from({ length: w * h }, () => (rnd() < 0.4 ? 0 : rnd()));
      // The reference: the same three boxes, each a running sum along rows, then one down each column.
      const pass = (src: Float32Array, dst: Float32Array, r: number, horizontal: boolean) => {
        const len = horizontal ? w : h,
          step = horizontal ? 1 : w,
          last = len - 1;
        for (let l = 0; l < (horizontal ? h : w); l++) {
          const base = horizontal ? l * w : l,
            first = src[base]!,
            end = src[base + last * step]!;
          let acc = first * (r + 1);
          for (let i = 1; i <= r; i++) acc += i <= last ? src[base + i * step]! : end;
          for (let i = 0; i < len; i++) {
            dst[base + i * step] = acc * (1 / (2 * r + 1));
            acc +=
              (i + r + 1 <= last ? src[base + (i + r + 1) * step]! : end) -
              (i >= r ? src[base + (i - r) * step]! : first);
          }
        }
      };
      const wIdeal = Math.sqrt(4 * sigma * sigma + 1);
      const wl = Math.floor(wIdeal) % 2 === 0 ? Math.floor(wIdeal) - 1 : Math.floor(wIdeal);
      const m = Math.round((12 * sigma * sigma - 3 * wl * wl - 12 * wl - 9) / (-4 * wl - 4));
      const want = Float32Array.from(plane),
        t = new Float32Array(w * h);
      for (let i = 0; i < 3; i++) {
        const r = ((i < m ? wl : wl + 2) - 1) / 2;
        if (r < 1) continue;
        pass(want, t, r, true);
        pass(t, want, r, false);
      }
      expect(gaussianBlur(plane, w, h, sigma)).toEqual(want);
    }
  });

  it('a scratch reused across faces of other sizes and masks gives the frames of fresh planes, byte for byte', () => {
    const rnd = random(11);
    const W = 160,
      H = 140,
      S = 32;
    const frame = () => ({
      width: W,
      height: H,
      data: Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37) % 251),
    });
    const face = (scale: number, dx: number): ModelFace => {
      const matrix: ModelFace['matrix'] = [
        [scale, 0.05, -dx * scale],
        [-0.05, scale, -20 * scale],
      ];
      const inv = (u: number, v: number): Point2 => [u / scale + dx, v / scale + 20];
      return {
        matrix,
        size: S,
        face: Float32Array.from({ length: S * S * 3 }, () => rnd()),
        predictedMask: Float32Array.from({ length: S * S }, () => rnd()),
        landmarks: [inv(4, 6), inv(28, 5), inv(30, 26), inv(16, 31), inv(2, 24)],
        alignedMasks: { matrix, size: S, painted: Float32Array.from({ length: S * S }, () => (rnd() < 0.7 ? 1 : 0)) },
        hands: [[inv(20, 20), inv(26, 20), inv(24, 27)]],
      };
    };
    const faces = [face(0.3, 20), face(0.5, 60), face(0.25, 10), face(0.6, 70)];
    const scratch = new BlendScratch();
    for (const o of [
      { mask: 'facehull+predicted', erosion: 2, color: 'avg' },
      { mask: 'rect+painted+hands', erosion: -3, color: 'hist', blurSize: 8 },
      { mask: 'facehullandrect', color: 'reinhard', sharpen: 'gaussian', seamless: true },
      { mask: 'predicted', blurSize: 0 },
    ] as const) {
      for (const mf of faces) {
        const fresh = frame(),
          reused = frame();
        const a = blendFace(fresh, mf, { ...DEFAULT_BLEND, ...o });
        const b = blendFace(reused, mf, { ...DEFAULT_BLEND, ...o }, scratch);
        expect(b!.roi).toEqual(a!.roi);
        expect(Buffer.compare(reused.data, fresh.data)).toBe(0);
        expect(b!.alpha).toEqual(a!.alpha);
        expect(b!.mask).toEqual(a!.mask);
        expect(b!.valid).toEqual(a!.valid);
      }
    }
  });
});
