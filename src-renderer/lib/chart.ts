/** Loss chart helpers: exponential moving average and an SVG polyline path for a series. */

/** EMA with smoothing `alpha` in [0, 1): 0 is raw, 0.9 is very smooth. Debiased like TensorBoard's. */
export function ema(values: readonly number[], alpha: number): number[] {
  const out: number[] = [];
  let last = 0;
  let weight = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) {
      out.push(out.length ? (out[out.length - 1] as number) : 0);
      continue;
    }
    last = last * alpha + (1 - alpha) * v;
    weight = weight * alpha + (1 - alpha);
    out.push(last / weight);
  }
  return out;
}

export interface Point {
  x: number;
  y: number;
}

export interface Scale {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

export function extent(series: ReadonlyArray<readonly Point[]>): Scale {
  let x0 = Infinity,
    x1 = -Infinity,
    y0 = Infinity,
    y1 = -Infinity;
  for (const s of series)
    for (const p of s) {
      if (!Number.isFinite(p.y)) continue;
      x0 = Math.min(x0, p.x);
      x1 = Math.max(x1, p.x);
      y0 = Math.min(y0, p.y);
      y1 = Math.max(y1, p.y);
    }
  if (!Number.isFinite(x0)) return { x0: 0, x1: 1, y0: 0, y1: 1 };
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) {
    y1 = y0 + Math.abs(y0 || 1) * 0.05;
    y0 = y0 - Math.abs(y0 || 1) * 0.05;
  }
  return { x0, x1, y0, y1 };
}

/** Keeps at most `max` points (evenly strided, last point kept) so long runs draw cheaply. */
export function downsample<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const step = points.length / max;
  const out: T[] = [];
  for (let i = 0; i < max - 1; i++) out.push(points[Math.floor(i * step)] as T);
  out.push(points[points.length - 1] as T);
  return out;
}

/** One decimal, never "-0.0": a debiased EMA can sit a rounding error above the raw maximum. */
function coord(v: number): string {
  return (Math.round(v * 10) / 10 + 0).toFixed(1);
}

/** SVG path `M x y L x y ...` of a series in a width x height box. */
export function linePath(points: readonly Point[], s: Scale, width: number, height: number): string {
  const sx = (x: number) => ((x - s.x0) / (s.x1 - s.x0)) * width;
  const sy = (y: number) => height - ((y - s.y0) / (s.y1 - s.y0)) * height;
  return points
    .filter((p) => Number.isFinite(p.y))
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${coord(sx(p.x))} ${coord(sy(p.y))}`)
    .join(' ');
}
