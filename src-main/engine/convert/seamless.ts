/**
 * Seamless (gradient-domain) cloning: P. Pérez, M. Gangnet, A. Blake, "Poisson Image Editing", SIGGRAPH 2003,
 * https://doi.org/10.1145/1201775.882269. Inside the domain Ω the result f keeps the new face's gradients
 * (Δf = ΔW) and on Ω's border it equals the frame (f = F), so there is no colour step along the border.
 *
 * Written as the equivalent membrane problem: f = W + C with ΔC = 0 in Ω and C = F - W on ∂Ω (Farbman et al.,
 * "Coordinates for Instant Image Cloning", SIGGRAPH 2009, https://doi.org/10.1145/1576246.1531373). C is smooth,
 * so it is solved coarse to fine (cascadic multigrid): exact-ish on a small grid, then a few SOR sweeps per finer
 * level starting from the upsampled coarse solution. Hand-written: no npm library does a masked Poisson solve
 * (OpenCV's seamlessClone would need opencv.js, a 10 MB wasm, for this one call).
 */

interface Level {
  w: number;
  h: number;
  /** 1 where the value is unknown (inside Ω). */
  unknown: Uint8Array;
  /** Indices of unknown pixels. */
  idx: Int32Array;
  /** 3 channels, planar: c * w * h + i. Known pixels hold the boundary data. */
  x: Float32Array;
}

function makeLevel(w: number, h: number, unknown: Uint8Array, x: Float32Array): Level {
  let n = 0;
  for (let i = 0; i < w * h; i++) n += unknown[i]!;
  const idx = new Int32Array(n);
  for (let i = 0, k = 0; i < w * h; i++) if (unknown[i]) idx[k++] = i;
  return { w, h, unknown, idx, x };
}

function coarsen(l: Level): Level {
  const w = Math.ceil(l.w / 2),
    h = Math.ceil(l.h / 2),
    n = w * h;
  const unknown = new Uint8Array(n);
  const x = new Float32Array(n * 3);
  const N = l.w * l.h;
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      let unk = 0,
        cnt = 0;
      const s = [0, 0, 0];
      for (let dy = 0; dy < 2; dy++) {
        const fy = 2 * y + dy;
        if (fy >= l.h) continue;
        for (let dx = 0; dx < 2; dx++) {
          const fx = 2 * xx + dx;
          if (fx >= l.w) continue;
          const fi = fy * l.w + fx;
          if (l.unknown[fi]) unk = 1;
          else {
            cnt++;
            for (let c = 0; c < 3; c++) s[c]! += l.x[c * N + fi]!;
          }
        }
      }
      const ci = y * w + xx;
      unknown[ci] = unk;
      if (!unk && cnt) for (let c = 0; c < 3; c++) x[c * n + ci] = s[c]! / cnt;
    }
  }
  return makeLevel(w, h, unknown, x);
}

/**
 * Successive over-relaxation sweeps of the 5-point Laplace equation on the unknown pixels (Neumann at the ROI
 * edge). Interior pixels (all four neighbours inside the ROI, the usual case) take the fast path.
 */
function sor(l: Level, iters: number, omega: number): void {
  const { w, h, idx, x } = l,
    N = w * h;
  const N2 = 2 * N;
  const interior = new Uint8Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!,
      px = i % w,
      py = (i - px) / w;
    interior[k] = px > 0 && px < w - 1 && py > 0 && py < h - 1 ? 1 : 0;
  }
  const q = omega / 4;
  for (let it = 0; it < iters; it++) {
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k]!;
      if (interior[k]) {
        const a = x[i]!,
          b = x[N + i]!,
          c = x[N2 + i]!;
        x[i] = a + q * (x[i - 1]! + x[i + 1]! + x[i - w]! + x[i + w]! - 4 * a);
        x[N + i] = b + q * (x[N + i - 1]! + x[N + i + 1]! + x[N + i - w]! + x[N + i + w]! - 4 * b);
        x[N2 + i] = c + q * (x[N2 + i - 1]! + x[N2 + i + 1]! + x[N2 + i - w]! + x[N2 + i + w]! - 4 * c);
        continue;
      }
      const px = i % w,
        py = (i - px) / w;
      for (let ch = 0; ch < 3; ch++) {
        const o = ch * N;
        let s = 0,
          m = 0;
        if (px > 0) {
          s += x[o + i - 1]!;
          m++;
        }
        if (px < w - 1) {
          s += x[o + i + 1]!;
          m++;
        }
        if (py > 0) {
          s += x[o + i - w]!;
          m++;
        }
        if (py < h - 1) {
          s += x[o + i + w]!;
          m++;
        }
        if (m) x[o + i] = x[o + i]! + omega * (s / m - x[o + i]!);
      }
    }
  }
}

/** Fills the unknown pixels of `fine` by bilinear interpolation of the solved `coarse` level. */
function prolong(coarse: Level, fine: Level): void {
  const { w, h } = coarse,
    Nc = w * h,
    Nf = fine.w * fine.h;
  for (let k = 0; k < fine.idx.length; k++) {
    const i = fine.idx[k]!;
    const fx = i % fine.w,
      fy = (i - fx) / fine.w;
    // Coarse pixel centres sit at fine coordinates 2X + 0.5.
    const cx = Math.min(w - 1, Math.max(0, (fx - 0.5) / 2)),
      cy = Math.min(h - 1, Math.max(0, (fy - 0.5) / 2));
    const x0 = Math.floor(cx),
      y0 = Math.floor(cy),
      x1 = Math.min(w - 1, x0 + 1),
      y1 = Math.min(h - 1, y0 + 1);
    const ax = cx - x0,
      ay = cy - y0;
    for (let c = 0; c < 3; c++) {
      const o = c * Nc,
        v = coarse.x;
      const val =
        (v[o + y0 * w + x0]! * (1 - ax) + v[o + y0 * w + x1]! * ax) * (1 - ay) +
        (v[o + y1 * w + x0]! * (1 - ax) + v[o + y1 * w + x1]! * ax) * ay;
      fine.x[c * Nf + i] = val;
    }
  }
}

export interface SeamlessInput {
  /** New face (float RGB 0..255, interleaved, w x h); the correction is added in place inside the domain. */
  face: Float32Array;
  /** Frame pixels of the same ROI, RGB24. */
  orig: Uint8Array | Uint8ClampedArray;
  /** Domain Ω: pixels > 0 are solved for, all others give the boundary values. */
  domain: Float32Array;
  w: number;
  h: number;
  /** SOR sweeps on each level finer than the coarsest (default 24). */
  sweeps?: number;
}

/** Poisson-clones `face` into `orig` over `domain` (in place on `face`). */
export function seamlessClone({ face, orig, domain, w, h, sweeps = 24 }: SeamlessInput): void {
  const N = w * h;
  const unknown = new Uint8Array(N);
  const x = new Float32Array(N * 3);
  let any = false;
  for (let i = 0; i < N; i++) {
    if (domain[i]! > 0) {
      unknown[i] = 1;
      any = true;
    } else for (let c = 0; c < 3; c++) x[c * N + i] = orig[i * 3 + c]! - face[i * 3 + c]!;
  }
  if (!any) return;
  const levels: Level[] = [makeLevel(w, h, unknown, x)];
  while (true) {
    const l = levels[levels.length - 1]!;
    if (Math.max(l.w, l.h) <= 24) break;
    levels.push(coarsen(l));
  }
  // Coarsest: solve well (it is tiny); an all-unknown coarsest grid (no boundary) keeps zeros.
  const coarsest = levels[levels.length - 1]!;
  sor(coarsest, 400, 1.8);
  for (let k = levels.length - 2; k >= 0; k--) {
    prolong(levels[k + 1]!, levels[k]!);
    sor(levels[k]!, k === 0 ? sweeps : Math.round(sweeps * 1.5), 1.7);
  }
  for (let i = 0; i < N; i++) {
    if (!unknown[i]) continue;
    for (let c = 0; c < 3; c++) face[i * 3 + c] = face[i * 3 + c]! + x[c * N + i]!;
  }
}
