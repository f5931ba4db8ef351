import { describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { alignFace, legacyMatrix, paddingFor } from '../../src-main/engine/face/align';
import { blurScore } from '../../src-main/engine/face/blur';
import { ImagePyramid, warpToRgb } from '../../src-main/engine/face/image';
import { MEAN_FACE_51 } from '../../src-main/engine/face/mean-face';
import { OneEuroFilter } from '../../src-main/engine/face/one-euro';
import { addPngText, asciiJson, readPngText } from '../../src-main/engine/face/png-text';
import type { Matrix2x3, Point2 } from '../../src-main/engine/face/types';
import {
  applyMatrix,
  composeMatrix,
  invertMatrix,
  matrixRotationDeg,
  matrixScale,
  transformPoints,
  umeyama,
} from '../../src-main/engine/face/umeyama';
import { rotateRgb, unrotatePoint } from '../../src-main/engine/extract/run';

function similarity(scale: number, deg: number, tx: number, ty: number): Matrix2x3 {
  const a = (deg * Math.PI) / 180;
  return [
    [scale * Math.cos(a), -scale * Math.sin(a), tx],
    [scale * Math.sin(a), scale * Math.cos(a), ty],
  ];
}

/** 68 landmarks of a synthetic face: jaw on an arc, points 17-67 the mean face, all mapped by `m`. */
function syntheticFace(m: Matrix2x3): Point2[] {
  const jaw: Point2[] = Array.from({ length: 17 }, (_, i) => {
    const t = Math.PI * (i / 16);
    return [0.5 - 0.55 * Math.cos(t), 0.3 + 0.75 * Math.sin(t)];
  });
  return transformPoints(m, [...jaw, ...MEAN_FACE_51]);
}

describe('umeyama', () => {
  it('recovers a known similarity transform exactly', () => {
    const m = similarity(2.5, 33, 40, -12);
    const src: Point2[] = [
      [0, 0],
      [10, 3],
      [-4, 8],
      [7, -9],
      [2, 2],
    ];
    const est = umeyama(src, transformPoints(m, src));
    for (let r = 0; r < 2; r++) for (let c = 0; c < 3; c++) expect(est[r]![c]).toBeCloseTo(m[r]![c]!, 9);
  });

  it('is the least-squares fit under noise and never reflects', () => {
    const src: Point2[] = Array.from({ length: 50 }, (_, i) => [Math.cos(i) * 10, Math.sin(i * 1.7) * 10]);
    const m = similarity(0.7, -120, 5, 5);
    const dst = transformPoints(m, src).map(
      ([x, y], i) => [x + Math.sin(i * 13) * 0.05, y + Math.cos(i * 7) * 0.05] as Point2,
    );
    const est = umeyama(src, dst);
    expect(matrixScale(est)).toBeCloseTo(0.7, 2);
    expect(matrixRotationDeg(est)).toBeCloseTo(-120, 0);
    const mirrored = src.map(([x, y]) => [-x, y] as Point2);
    const e2 = umeyama(src, mirrored);
    expect(e2[0][0] * e2[1][1] - e2[0][1] * e2[1][0]).toBeGreaterThanOrEqual(0);
  });

  it('inverts and composes', () => {
    const m = similarity(1.3, 12, 7, 9);
    const id = composeMatrix(invertMatrix(m), m);
    expect(applyMatrix(id, [3, 4])[0]).toBeCloseTo(3, 9);
    expect(applyMatrix(id, [3, 4])[1]).toBeCloseTo(4, 9);
  });
});

describe('alignment', () => {
  it('maps the mean face into the padded centre of the crop (legacy centering)', () => {
    const m = similarity(180, 20, 300, 200);
    const lm = syntheticFace(m);
    const al = alignFace(lm, 256, { centering: 'legacy' });
    const pad = paddingFor(256, 'legacy');
    const out = transformPoints(al.matrix, lm.slice(17));
    out.forEach((p, i) => {
      expect(p[0]).toBeCloseTo(MEAN_FACE_51[i]![0] * (256 - 2 * pad) + pad, 6);
      expect(p[1]).toBeCloseTo(MEAN_FACE_51[i]![1] * (256 - 2 * pad) + pad, 6);
    });
    expect(matrixRotationDeg(legacyMatrix(lm))).toBeCloseTo(-20, 6);
  });

  it("'face' centering shifts by the pose offset, a frontal face has a small pose", () => {
    const lm = syntheticFace(similarity(150, 0, 200, 150));
    const face = alignFace(lm, 256);
    expect(Math.abs(face.pose.yaw)).toBeLessThan(10);
    expect(Math.abs(face.pose.roll)).toBeLessThan(5);
    const legacy = alignFace(lm, 256, { centering: 'legacy' });
    expect(face.matrix[1][2]).not.toBeCloseTo(legacy.matrix[1][2], 1);
    // the whole 0..1 square stays inside the 'face' crop
    const c = transformPoints(face.matrix, lm.slice(17));
    for (const p of c) {
      for (const v of p) {
        expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThan(256);
      }
    }
  });

  it('--align-eyes levels the eye centres', () => {
    const lm = syntheticFace(similarity(150, 0, 200, 150));
    lm[36]![1] += 6; // tilt the right eye down a bit
    const al = alignFace(lm, 256, { alignEyes: true });
    const o = transformPoints(al.matrix, lm);
    const mean = (a: number, b: number) => o.slice(a, b).reduce((s, p) => s + p[1], 0) / (b - a);
    expect(mean(36, 42)).toBeCloseTo(mean(42, 48), 6);
  });
});

describe('warp', () => {
  it('puts a source pixel exactly where the matrix sends it, rotation included', () => {
    const W = 120,
      H = 90;
    const data = new Uint8Array(W * H * 3);
    const set = (x: number, y: number) => data.fill(255, (y * W + x) * 3, (y * W + x) * 3 + 3);
    set(40, 30);
    const m = similarity(1, 30, 20, -10);
    const out = warpToRgb({ width: W, height: H, data }, m, 128, 128);
    let sx = 0,
      sy = 0,
      s = 0;
    for (let y = 0; y < 128; y++)
      for (let x = 0; x < 128; x++) {
        const v = out[(y * 128 + x) * 3]!;
        sx += v * x;
        sy += v * y;
        s += v;
      }
    const e = applyMatrix(m, [40, 30]);
    // within 0.15 px (the centroid of a bilinear footprint on a rotated grid is not exactly its centre)
    expect(Math.abs(sx / s - e[0])).toBeLessThan(0.15);
    expect(Math.abs(sy / s - e[1])).toBeLessThan(0.15);
  });

  it('samples a pyramid level when shrinking (no aliasing of a fine checkerboard)', () => {
    const W = 256,
      H = 256;
    const data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) data.fill((x + y) % 2 ? 255 : 0, (y * W + x) * 3, (y * W + x) * 3 + 3);
    const out = warpToRgb(
      new ImagePyramid({ width: W, height: H, data }),
      [
        [0.25, 0, -0.375],
        [0, 0.25, -0.375],
      ],
      64,
      64,
    );
    for (let i = 0; i < out.length; i += 97) expect(Math.abs(out[i]! - 128)).toBeLessThan(3);
  });

  it('blur score is lower for a blurred face', async () => {
    const lm = syntheticFace(similarity(100, 0, 60, 40));
    const W = 220,
      H = 220;
    const noise = new Uint8Array(W * H * 3).map((_, i) => ((i * 2654435761) >>> 24) & 255);
    const sharpImg = { width: W, height: H, data: noise };
    const blurred = await sharp(Buffer.from(noise), { raw: { width: W, height: H, channels: 3 } })
      .blur(3)
      .raw()
      .toBuffer();
    const legacy = legacyMatrix(lm);
    expect(blurScore({ width: W, height: H, data: blurred }, legacy)).toBeLessThan(blurScore(sharpImg, legacy) / 5);
  });
});

describe('One Euro filter', () => {
  it('removes jitter on a still point and follows a fast move with little lag', () => {
    const f = new OneEuroFilter({ minCutoff: 1, beta: 4, dCutoff: 1 });
    const fps = 30;
    let rawJ = 0,
      smJ = 0,
      prevRaw = 0,
      prevSm = 0;
    for (let i = 0; i < 60; i++) {
      const raw = 100 + Math.sin(i * 12.9898) * 0.8; // noise of +-0.8 px on a still point, IOD 100 px
      const sm = f.filter([raw], i / fps, 100)[0]!;
      if (i > 0) {
        rawJ += Math.abs(raw - prevRaw);
        smJ += Math.abs(sm - prevSm);
      }
      prevRaw = raw;
      prevSm = sm;
    }
    expect(smJ).toBeLessThan(rawJ / 2);
    // then a move of 100 px (one IOD) in 0.2 s: the filtered value must be within 15% of it at the end
    let last = 0;
    for (let i = 0; i <= 6; i++) last = f.filter([100 + (100 * i) / 6], (60 + i) / fps, 100)[0]!;
    expect(200 - last).toBeLessThan(15);
  });
});

describe('PNG text chunk', () => {
  it('round-trips through our reader and sharp', async () => {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#804020' } })
      .png()
      .toBuffer();
    const meta = {
      source: 'vidéo.mp4',
      frame: 12,
      face: 0,
      matrix: [
        [1, 0, 0],
        [0, 1, 0],
      ],
    };
    const withText = addPngText(png, 'faceswap-studio:face', asciiJson(meta));
    expect(JSON.parse(readPngText(withText)['faceswap-studio:face']!)).toEqual(meta);
    const info = await sharp(withText).metadata();
    expect(info.width).toBe(8);
    expect(info.comments?.find((c) => c.keyword === 'faceswap-studio:face')).toBeTruthy();
  });
});

describe('rotation helpers', () => {
  it('unrotatePoint inverts rotateRgb', () => {
    const W = 5,
      H = 3;
    const data = new Uint8Array(W * H * 3).map((_, i) => i);
    for (const deg of [90, 180, 270] as const) {
      const r = rotateRgb({ width: W, height: H, data }, deg);
      for (let y = 0; y < r.height; y++)
        for (let x = 0; x < r.width; x++) {
          const [ox, oy] = unrotatePoint(x, y, deg, W, H);
          expect(r.data[(y * r.width + x) * 3]).toBe(data[(oy * W + ox) * 3]);
        }
    }
  });
});
