/** Image difference measures over 8-bit buffers of equal length (RGB24 frames). */

/** Mean squared error per byte. */
export function mse(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`mse: buffers differ in length (${a.length} vs ${b.length})`);
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    se += d * d;
  }
  return a.length ? se / a.length : 0;
}

/** Peak signal-to-noise ratio in dB for 8-bit data; `Infinity` for identical buffers. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  const m = mse(a, b);
  return m === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((255 * 255) / m);
}

/** Mean absolute difference per byte. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`meanAbsDiff: buffers differ in length (${a.length} vs ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return a.length ? s / a.length : 0;
}
