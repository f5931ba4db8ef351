/**
 * One Euro filter: an adaptive low-pass whose cutoff rises with speed, so still landmarks lose their jitter
 * while fast motion is followed without lag. G. Casiez, N. Roussel, D. Vogel, "1 Euro Filter: A Simple
 * Speed-based Low-pass Filter for Noisy Input in Interactive Systems", CHI 2012,
 * https://doi.org/10.1145/2207676.2208639 (reference algorithm: https://gery.casiez.net/1euro/).
 */

export interface OneEuroParams {
  /** Cutoff (Hz) at zero speed: lower removes more jitter on still faces. */
  minCutoff: number;
  /** Speed coefficient: higher follows fast motion with less lag. Units: 1 / (value units). */
  beta: number;
  /** Cutoff (Hz) of the derivative estimate. */
  dCutoff: number;
}

function alpha(cutoff: number, dt: number): number {
  const tau = 1 / (2 * Math.PI * cutoff);
  return 1 / (1 + tau / dt);
}

/** Filters a vector of values sampled together (for example the 136 coordinates of 68 landmarks). */
export class OneEuroFilter {
  private x: Float64Array | null = null;
  private dx: Float64Array | null = null;
  private lastT = 0;

  constructor(readonly params: OneEuroParams) {}

  reset(): void {
    this.x = null;
    this.dx = null;
  }

  /**
   * Filters `values` observed at time `tSec`. `scale` divides the speed before it meets `beta`, so that the
   * filter behaves the same for a small and a large face (pass the inter-ocular distance in pixels).
   * `gate` (optional) opens the filter from outside: `extraCutoff` Hz are added to every value's cutoff (for
   * example from a motion measured more precisely than the values' own speed), only the part of a value's speed
   * (after `scale`) above `deadZone` meets `beta` (speeds below it are the noise the filter removes; one number, or
   * one per value), and `params`,
   * when given, replace the filter's own for this step.
   */
  filter(
    values: ArrayLike<number>,
    tSec: number,
    scale = 1,
    gate: { extraCutoff: number; deadZone: number | ArrayLike<number>; params?: OneEuroParams } = {
      extraCutoff: 0,
      deadZone: 0,
    },
  ): Float64Array {
    const n = values.length;
    if (!this.x || !this.dx || this.x.length !== n || tSec <= this.lastT) {
      this.x = Float64Array.from(values as ArrayLike<number>);
      this.dx = new Float64Array(n);
      this.lastT = tSec;
      return Float64Array.from(this.x);
    }
    const dt = tSec - this.lastT;
    this.lastT = tSec;
    const { minCutoff, beta, dCutoff } = gate.params ?? this.params;
    const ad = alpha(dCutoff, dt);
    const dz = gate.deadZone;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      const prev = this.x[i]!;
      const rawDx = (v - prev) / dt;
      const dxHat = ad * rawDx + (1 - ad) * this.dx[i]!;
      this.dx[i] = dxHat;
      const cutoff =
        minCutoff +
        gate.extraCutoff +
        beta * Math.max(0, Math.abs(dxHat) / scale - (typeof dz === 'number' ? dz : dz[i]!));
      const a = alpha(cutoff, dt);
      const x = a * v + (1 - a) * prev;
      this.x[i] = x;
      out[i] = x;
    }
    return out;
  }
}
