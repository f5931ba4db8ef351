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

/** A frame with lazily built half-size levels (level k is 2^-k of the frame). */
export class ImagePyramid {
  private levels: RgbImage[];
  constructor(readonly base: RgbImage) {
    if (base.data.length < base.width * base.height * 3) throw new Error('RGB buffer is smaller than width*height*3');
    this.levels = [base];
  }

  get width(): number {
    return this.base.width;
  }
  get height(): number {
    return this.base.height;
  }

  level(k: number): RgbImage {
    while (this.levels.length <= k) {
      const prev = this.levels[this.levels.length - 1]!;
      if (prev.width < 4 || prev.height < 4) return prev;
      this.levels.push(halve(prev));
    }
    return this.levels[k]!;
  }
}

function halve(img: RgbImage): RgbImage {
  const w = img.width >> 1,
    h = img.height >> 1;
  const out = new Uint8Array(w * h * 3);
  const s = img.data,
    sw = img.width * 3;
  for (let y = 0; y < h; y++) {
    const r0 = 2 * y * sw,
      r1 = r0 + sw;
    let o = y * w * 3;
    for (let x = 0; x < w; x++) {
      const i = x * 6;
      for (let c = 0; c < 3; c++) {
        out[o++] = (s[r0 + i + c]! + s[r0 + i + 3 + c]! + s[r1 + i + c]! + s[r1 + i + 3 + c]! + 2) >> 2;
      }
    }
  }
  return { width: w, height: h, data: out };
}

export interface WarpOptions {
  /** Output value = pixel * mul + add (for example 1/255 and 0 for [0,1] model inputs). */
  mul?: number;
  add?: number;
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
  const out = new Float32Array(width * height * 3);
  warpInto(src, matrix, width, height, out, opts.mul ?? 1, opts.add ?? 0);
  return out;
}

/** Same as `warpToFloat` with 8-bit output (the aligned face crops). */
export function warpToRgb(src: ImagePyramid | RgbImage, matrix: Matrix2x3, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  warpInto(src, matrix, width, height, out, 1, 0.5);
  return out;
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
  const shrink = 1 / matrixScale(matrix); // source pixels per output pixel
  const k = shrink >= 2 ? Math.floor(Math.log2(shrink)) : 0;
  const img = pyr.level(k);
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
  const W = img.width,
    H = img.height,
    data = img.data;
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
