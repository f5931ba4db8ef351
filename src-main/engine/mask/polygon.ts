/** Rasterising a (possibly concave) polygon into a coverage mask, with supersampling for soft edges. */

export type Pt = readonly [number, number];

/**
 * Coverage 0..1 of each pixel of a w x h image by the polygon (pixel centres at integer + 0.5; even-odd rule),
 * sampled `ss` x `ss` times per pixel.
 */
export function rasterPolygon(poly: readonly Pt[], w: number, h: number, ss = 4): Float32Array {
  const out = new Float32Array(w * h);
  const n = poly.length;
  if (n < 3) return out;
  const inc = 1 / (ss * ss);
  for (let y = 0; y < h; y++) {
    for (let sy = 0; sy < ss; sy++) {
      const py = y + (sy + 0.5) / ss;
      // Crossings of this scanline with every edge, sorted: inside between pairs.
      const xs: number[] = [];
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const [xi, yi] = poly[i] as Pt;
        const [xj, yj] = poly[j] as Pt;
        if (yi > py !== yj > py) xs.push(xi + ((py - yi) * (xj - xi)) / (yj - yi));
      }
      xs.sort((a, b) => a - b);
      for (let k = 0; k + 1 < xs.length; k += 2) {
        const a = xs[k] as number;
        const b = xs[k + 1] as number;
        for (let sx = 0; sx < ss; sx++) {
          const off = (sx + 0.5) / ss;
          const x0 = Math.max(0, Math.ceil(a - off));
          const x1 = Math.min(w - 1, Math.floor(b - off));
          for (let x = x0; x <= x1; x++) out[y * w + x] = (out[y * w + x] as number) + inc;
        }
      }
    }
  }
  return out;
}
