/**
 * Affine warps of RGB24 frames for the model inputs and the aligned face crops.
 *
 * Why not sharp.affine: libvips places the output of an affine on the bounding box of the transformed input, and
 * measured here its odx/ody offsets do not give a fixed, sub-pixel exact output window (a rotated test pixel
 * landed 10 px away from where the matrix puts it). The aligned crop must follow the matrix stored in the
 * alignments file exactly, so the warp is done here: inverse mapping with bilinear sampling (OpenCV's
 * warpAffine convention: pixel centres at integer coordinates), sampled from a 2x box-filtered pyramid level
 * when the warp shrinks the image (like mipmapping, to avoid aliasing), black outside the frame.
 */
import type { Matrix2x3, RgbImage } from './types';
import { invertMatrix, matrixScale } from './umeyama';
import { bilinearTap, newTap } from '../image/bilinear';

/**
 * A pyramid level whose pixels are built on demand: `data` is valid only inside the regions passed to `ensure`
 * (or everywhere for a level returned by `ImagePyramid.level`).
 */
export interface LazyRgbImage extends RgbImage {
  /** Builds at least the pixels [x0, x1] x [y0, y1] (inclusive, level pixels; clamped to the level). */
  ensure(x0: number, y0: number, x1: number, y1: number): void;
}

/** Pixels [x0, x1) x [y0, y1) of an image or a pyramid level. */
export interface PixelRect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Pixels of one level of a frame's pyramid (`ImagePyramid.patch`): `rect` of level `level`, rows packed RGB24. */
export interface LevelPatch {
  level: number;
  rect: PixelRect;
  pixels: Uint8Array;
}

/** A warp of a pyramid made of patches would read level pixels that no patch holds. */
export class UnknownPixelsError extends Error {
  constructor(
    readonly level: number,
    readonly needed: PixelRect,
  ) {
    super(
      `the warp reads pixels [${needed.x0}, ${needed.x1}) x [${needed.y0}, ${needed.y1}) of level ${level}, not known`,
    );
  }
}

/** Side of the square blocks a level is built in (level pixels). */
const BLOCK = 32;

interface Level {
  view: LazyRgbImage;
  /** Blocks per row and per column. */
  bw: number;
  bh: number;
  /** 1 for each block built; null once the whole level is. */
  built: Uint8Array | null;
}

/**
 * A frame with half-size levels (level k is 2^-k of the frame, each pixel the rounded mean of 2x2 of the level
 * below), built lazily and only where they are read: a face warp or the motion meter reads a face-sized region of
 * a level, so on video most of a level is never built (block by block, BLOCK x BLOCK level pixels; the values are
 * those of the whole level built at once).
 */
export class ImagePyramid {
  private levels: Level[];
  /** Level buffers of a finished pyramid of the same size, taken over as its levels are needed. */
  private spare: Uint8Array[];

  /** Level rectangles known to hold the frame's pixels, when made of patches; null: the whole frame is. */
  private readonly known: Array<{ level: number; rect: PixelRect }> | null;

  /**
   * `recycle`: a pyramid of an earlier frame that is no longer used; its level buffers are reused (a video loop
   * saves allocating, and the garbage collector collecting, about half a frame per frame).
   * `patches`: the frame is known only by these pixels of its levels (from `patch` on a pyramid of the whole
   * frame; level 0's are written into `base`, whose other pixels may be anything): a warp that would read any
   * other pixel throws UnknownPixelsError. Default: `base` is the whole frame.
   */
  constructor(
    readonly base: RgbImage,
    recycle?: ImagePyramid,
    patches?: readonly LevelPatch[],
  ) {
    if (base.data.length < base.width * base.height * 3) throw new Error('RGB buffer is smaller than width*height*3');
    this.levels = [{ view: { ...base, ensure: () => undefined }, bw: 0, bh: 0, built: null }];
    this.spare =
      recycle && recycle.width === base.width && recycle.height === base.height
        ? recycle.levels.slice(1).map((l) => l.view.data)
        : [];
    if (recycle) recycle.levels.length = 1;
    this.known = patches ? [] : null;
    for (const p of patches ?? []) this.paste(p);
  }

  /** The index of `view`, a level of this pyramid. */
  levelOf(view: RgbImage): number {
    const k = this.levels.findIndex((l) => l.view === view);
    if (k < 0) throw new Error('not a level of this pyramid');
    return k;
  }

  /**
   * The pixels `rect` of level `level` (level pixels, inclusive of x0/y0, exclusive of x1/y1), widened to whole
   * blocks and clamped to the level, built and copied: pasted into a pyramid of the same frame size (constructor
   * `patches`) they are what this one holds there.
   */
  patch(level: number, rect: PixelRect): LevelPatch {
    const view = this.view(level);
    const k = this.levelOf(view);
    const b = k === 0 ? 1 : BLOCK;
    const r: PixelRect = {
      x0: Math.max(0, Math.floor(rect.x0 / b) * b),
      y0: Math.max(0, Math.floor(rect.y0 / b) * b),
      x1: Math.min(view.width, Math.ceil(rect.x1 / b) * b),
      y1: Math.min(view.height, Math.ceil(rect.y1 / b) * b),
    };
    if (r.x0 >= r.x1 || r.y0 >= r.y1) return { level: k, rect: r, pixels: new Uint8Array(0) };
    view.ensure(r.x0, r.y0, r.x1 - 1, r.y1 - 1);
    const row = (r.x1 - r.x0) * 3;
    const pixels = new Uint8Array(row * (r.y1 - r.y0));
    for (let y = r.y0, o = 0; y < r.y1; y++, o += row) {
      const at = (y * view.width + r.x0) * 3;
      pixels.set(view.data.subarray(at, at + row), o);
    }
    return { level: k, rect: r, pixels };
  }

  private paste(p: LevelPatch): void {
    const view = this.view(p.level);
    const k = this.levelOf(view);
    const { rect: r } = p;
    if (k !== p.level || r.x1 > view.width || r.y1 > view.height) throw new Error('patch of another frame size');
    const row = (r.x1 - r.x0) * 3;
    for (let y = r.y0, o = 0; y < r.y1; y++, o += row)
      view.data.set(p.pixels.subarray(o, o + row), (y * view.width + r.x0) * 3);
    const L = this.levels[k]!;
    if (L.built) {
      // Whole blocks (`patch` widens to them), now built.
      for (let by = r.y0 / BLOCK; by < Math.ceil(r.y1 / BLOCK); by++)
        for (let bx = r.x0 / BLOCK; bx < Math.ceil(r.x1 / BLOCK); bx++) L.built[by * L.bw + bx] = 1;
    }
    this.known!.push({ level: k, rect: r });
  }

  get width(): number {
    return this.base.width;
  }
  get height(): number {
    return this.base.height;
  }

  /** Level k, all of it built (the smallest level when the frame has fewer: one side under 4 pixels stops). */
  level(k: number): RgbImage {
    const view = this.view(k);
    if (view === this.levels[0]!.view) return this.base;
    view.ensure(0, 0, view.width - 1, view.height - 1);
    return view;
  }

  /** Level k (or the smallest, as `level`) with nothing built yet but what earlier calls built. */
  view(k: number): LazyRgbImage {
    while (this.levels.length <= k) {
      const prev = this.levels[this.levels.length - 1]!.view;
      if (prev.width < 4 || prev.height < 4) return prev;
      const i = this.levels.length;
      const width = prev.width >> 1,
        height = prev.height >> 1;
      const bw = Math.ceil(width / BLOCK),
        bh = Math.ceil(height / BLOCK);
      this.levels.push({
        view: {
          width,
          height,
          data: this.spare[i - 1] ?? new Uint8Array(width * height * 3),
          ensure: (x0, y0, x1, y1) => this.build(i, x0, y0, x1, y1),
        },
        bw,
        bh,
        built: new Uint8Array(bw * bh),
      });
    }
    return this.levels[k]!.view;
  }

  /**
   * Throws UnknownPixelsError when the pyramid is made of patches and the pixels [x0, x1] x [y0, y1] (inclusive,
   * clamped to the level) of `view`, a level of this pyramid, are not all inside one patch, or made of pixels
   * all inside one patch of a finer level.
   */
  checkKnown(view: RgbImage, x0: number, y0: number, x1: number, y1: number): void {
    if (!this.known) return;
    const level = this.levelOf(view);
    const needed: PixelRect = {
      x0: Math.max(0, x0),
      y0: Math.max(0, y0),
      x1: Math.min(view.width - 1, x1) + 1,
      y1: Math.min(view.height - 1, y1) + 1,
    };
    if (needed.x0 >= needed.x1 || needed.y0 >= needed.y1) return;
    // A patch of this level, or of a finer one that holds every pixel these are means of (the level is built
    // from it: its blocks are marked built).
    const inside = ({ level: l, rect: r }: { level: number; rect: PixelRect }) => {
      if (l > level) return false;
      const f = 2 ** (level - l);
      return r.x0 <= needed.x0 * f && r.y0 <= needed.y0 * f && r.x1 >= needed.x1 * f && r.y1 >= needed.y1 * f;
    };
    if (!this.known.some(inside)) throw new UnknownPixelsError(level, needed);
  }

  private build(k: number, x0: number, y0: number, x1: number, y1: number): void {
    const L = this.levels[k]!;
    const built = L.built;
    if (!built) return;
    const { width, height } = L.view;
    const bx0 = Math.max(0, Math.floor(x0 / BLOCK)),
      by0 = Math.max(0, Math.floor(y0 / BLOCK));
    const bx1 = Math.min(L.bw - 1, Math.floor(x1 / BLOCK)),
      by1 = Math.min(L.bh - 1, Math.floor(y1 / BLOCK));
    if (bx0 > bx1 || by0 > by1) return;
    let missing = false;
    for (let by = by0; by <= by1 && !missing; by++)
      for (let bx = bx0; bx <= bx1; bx++) if (!built[by * L.bw + bx]) missing = true;
    if (!missing) return;
    // The level below, under every block of the region at once.
    this.levels[k - 1]!.view.ensure(
      2 * bx0 * BLOCK,
      2 * by0 * BLOCK,
      2 * Math.min(width, (bx1 + 1) * BLOCK) - 1,
      2 * Math.min(height, (by1 + 1) * BLOCK) - 1,
    );
    const src = this.levels[k - 1]!.view;
    for (let by = by0; by <= by1; by++)
      for (let bx = bx0; bx <= bx1; bx++) {
        if (built[by * L.bw + bx]) continue;
        halveInto(
          src,
          L.view,
          bx * BLOCK,
          by * BLOCK,
          Math.min(width, (bx + 1) * BLOCK),
          Math.min(height, (by + 1) * BLOCK),
        );
        built[by * L.bw + bx] = 1;
      }
    if (built.every((b) => b === 1)) L.built = null;
  }
}

/** Pixels [x0, x1) x [y0, y1) of `out`, each the rounded mean of its 2x2 pixels in `img` (twice its size). */
function halveInto(img: RgbImage, out: RgbImage, x0: number, y0: number, x1: number, y1: number): void {
  const s = img.data,
    d = out.data,
    sw = img.width * 3,
    ow = out.width * 3;
  for (let y = y0; y < y1; y++) {
    let a = 2 * y * sw + 6 * x0,
      b = a + sw,
      o = y * ow + 3 * x0;
    const end = y * ow + 3 * x1;
    for (; o < end; o += 3, a += 6, b += 6) {
      d[o] = (s[a]! + s[a + 3]! + s[b]! + s[b + 3]! + 2) >> 2;
      d[o + 1] = (s[a + 1]! + s[a + 4]! + s[b + 1]! + s[b + 4]! + 2) >> 2;
      d[o + 2] = (s[a + 2]! + s[a + 5]! + s[b + 2]! + s[b + 5]! + 2) >> 2;
    }
  }
}

export interface WarpOptions {
  /** Output value = pixel * mul + add (for example 1/255 and 0 for [0,1] model inputs). */
  mul?: number;
  add?: number;
  /** The buffer to write (`width * height * 3` floats, every one written); default: a new one. */
  out?: Float32Array;
}

/**
 * Warps `src` by `matrix` (source pixels -> output pixels) into a `width` x `height` RGB float buffer.
 */
export function warpToFloat(
  src: ImagePyramid | RgbImage,
  matrix: Matrix2x3,
  width: number,
  height: number,
  opts: WarpOptions = {},
): Float32Array {
  if (opts.out && opts.out.length !== width * height * 3) throw new Error('warp output buffer has the wrong size');
  const out = opts.out ?? new Float32Array(width * height * 3);
  warpInto(src, matrix, width, height, out, opts.mul ?? 1, opts.add ?? 0);
  return out;
}

/** Same as `warpToFloat` with 8-bit output (the aligned face crops). */
export function warpToRgb(src: ImagePyramid | RgbImage, matrix: Matrix2x3, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  warpInto(src, matrix, width, height, out, 1, 0.5);
  return out;
}

/**
 * How a warp of `pyr` by `matrix` into `width` x `height` reads: the level it samples, the affine map from output
 * pixels to that level's pixels (x = a X + b Y + c, y = d X + e Y + g) and the box the sample points lie in.
 */
function warpGeometry(pyr: ImagePyramid, matrix: Matrix2x3, width: number, height: number, level?: number) {
  const img = pyr.view(level ?? warpLevel(1 / matrixScale(matrix)));
  const f = pyr.base.width / img.width; // actual factor of this level
  const fy = pyr.base.height / img.height;
  // Inverse: output -> base pixels; then base -> level: x_k = (x_0 + 0.5) / f - 0.5.
  const inv = invertMatrix(matrix);
  const a = inv[0][0] / f,
    b = inv[0][1] / f,
    c = (inv[0][2] + 0.5) / f - 0.5;
  const d = inv[1][0] / fy,
    e = inv[1][1] / fy,
    g = (inv[1][2] + 0.5) / fy - 0.5;
  // Where the output's corners land in the level: the pixels read lie within (affine map).
  const xw = a * (width - 1),
    xh = b * (height - 1),
    yw = d * (width - 1),
    yh = e * (height - 1);
  const minX = c + Math.min(0, xw) + Math.min(0, xh),
    maxX = c + Math.max(0, xw) + Math.max(0, xh);
  const minY = g + Math.min(0, yw) + Math.min(0, yh),
    maxY = g + Math.max(0, yw) + Math.max(0, yh);
  // The level pixels the warp may read (inclusive): the bilinear neighbours, with room for rounding.
  const read = [Math.floor(minX) - 1, Math.floor(minY) - 1, Math.floor(maxX) + 2, Math.floor(maxY) + 2] as const;
  return { img, a, b, c, d, e, g, minX, maxX, minY, maxY, read };
}

/**
 * The pyramid level a warp samples when it shrinks the frame by `shrink` (frame pixels per output pixel): the
 * largest whose pixels are no bigger than the output's (before the pyramid runs out of levels).
 */
export function warpLevel(shrink: number): number {
  return shrink >= 2 ? Math.floor(Math.log2(shrink)) : 0;
}

/**
 * The pixels a warp of `pyr` by `matrix` into `width` x `height` may read: which level (the index that
 * `ImagePyramid.patch` takes) and where in it (level pixels, x1/y1 exclusive; not clamped to the level).
 * `level`: where it would read were it to sample that level (default: the level it samples).
 */
export function warpReads(
  pyr: ImagePyramid,
  matrix: Matrix2x3,
  width: number,
  height: number,
  level?: number,
): { level: number; rect: PixelRect } {
  const { img, read } = warpGeometry(pyr, matrix, width, height, level);
  return { level: pyr.levelOf(img), rect: { x0: read[0], y0: read[1], x1: read[2] + 1, y1: read[3] + 1 } };
}

function warpInto(
  srcIn: ImagePyramid | RgbImage,
  matrix: Matrix2x3,
  width: number,
  height: number,
  out: Float32Array | Uint8Array,
  mul: number,
  add: number,
): void {
  const pyr = srcIn instanceof ImagePyramid ? srcIn : new ImagePyramid(srcIn);
  const { img, a, b, c, d, e, g, minX, maxX, minY, maxY, read } = warpGeometry(pyr, matrix, width, height);
  pyr.checkKnown(img, ...read);
  img.ensure(...read);
  const W = img.width,
    H = img.height,
    data = img.data;
  // Every tap inside the level (with room for the rounding of the stepped coordinates): no edge tests.
  const EPS = 1e-6;
  if (minX >= EPS && minY >= EPS && maxX <= W - 1 - EPS && maxY <= H - 1 - EPS) {
    warpInside(data, W, out, width, height, a, b, c, d, e, g, mul, add);
    return;
  }
  const tap = newTap();
  const isByte = out instanceof Uint8Array;
  let o = 0;
  for (let y = 0; y < height; y++) {
    let sx = b * y + c;
    let sy = e * y + g;
    for (let x = 0; x < width; x++, sx += a, sy += d, o += 3) {
      if (!bilinearTap(sx, sy, W, H, 'zero', tap)) {
        const v = 0 * mul + add;
        out[o] = v;
        out[o + 1] = v;
        out[o + 2] = v;
        continue;
      }
      for (let ch = 0; ch < 3; ch++) {
        const r =
          (tap.w00 * data[tap.p00 * 3 + ch]! +
            tap.w10 * data[tap.p10 * 3 + ch]! +
            tap.w01 * data[tap.p01 * 3 + ch]! +
            tap.w11 * data[tap.p11 * 3 + ch]!) *
            mul +
          add;
        out[o + ch] = isByte ? (r > 255 ? 255 : r) : r;
      }
    }
  }
}

/** warpInside's float64 results before they are stored (grown as needed; one per thread). */
let insideScratch = new Float64Array(0);

/*
 * The warp where every tap is inside the level: the same sums as the general loop above (same weights, same
 * order, so the same values), without the per-pixel edge tests. The sums go to one float64 scratch array (its
 * stores stay monomorphic, and float64 holds the very values the general loop stores), then into `out`: rounded
 * to float32, or clamped at 255 and truncated to bytes, exactly as a direct store would.
 */
function warpInside(
  data: Uint8Array,
  W: number,
  out: Float32Array | Uint8Array,
  width: number,
  height: number,
  a: number,
  b: number,
  c: number,
  d: number,
  e: number,
  g: number,
  mul: number,
  add: number,
): void {
  const n = width * height * 3;
  if (insideScratch.length < n) insideScratch = new Float64Array(n);
  const s = insideScratch;
  const row = 3 * W;
  let o = 0;
  for (let y = 0; y < height; y++) {
    let sx = b * y + c;
    let sy = e * y + g;
    for (let x = 0; x < width; x++, sx += a, sy += d, o += 3) {
      const x0 = Math.floor(sx),
        y0 = Math.floor(sy);
      const ax = sx - x0,
        ay = sy - y0;
      const w00 = (1 - ax) * (1 - ay),
        w10 = ax * (1 - ay),
        w01 = (1 - ax) * ay,
        w11 = ax * ay;
      const i = (y0 * W + x0) * 3;
      s[o] = (w00 * data[i]! + w10 * data[i + 3]! + w01 * data[i + row]! + w11 * data[i + row + 3]!) * mul + add;
      s[o + 1] =
        (w00 * data[i + 1]! + w10 * data[i + 4]! + w01 * data[i + row + 1]! + w11 * data[i + row + 4]!) * mul + add;
      s[o + 2] =
        (w00 * data[i + 2]! + w10 * data[i + 5]! + w01 * data[i + row + 2]! + w11 * data[i + row + 5]!) * mul + add;
    }
  }
  if (out instanceof Uint8Array) {
    for (let j = 0; j < n; j++) {
      const v = s[j]!;
      out[j] = v > 255 ? 255 : v;
    }
  } else out.set(s.subarray(0, n));
}
