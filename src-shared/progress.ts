/**
 * Progress of a running stage. `fraction` only moves forward and ends at exactly 1 when the stage completes.
 * A stage with sub-steps maps their fractions into its own.
 */
export interface Progress {
  /** Stage id, for example `extract`. */
  stage: string;
  /** 0..1 */
  fraction: number;
  /** Short human title, for example `Detecting faces`. */
  title: string;
  /** Longer detail line, for example `frame 120 / 480`. */
  detail?: string;
  /** Items done and total (frames, iterations...) when countable. */
  done?: number;
  total?: number;
  /** Items per second over a recent window, and its unit (`frames/s`, `EGs/s`). */
  rate?: number;
  rateUnit?: string;
  /** Estimated time left in milliseconds. */
  etaMs?: number;
  /**
   * Stage-specific numbers, flattened into each `--json` line, for example
   * `{ iteration: 120, lossA: 0.041, lossB: 0.039, egs: 6.2 }` for training.
   */
  metrics?: Record<string, number>;
  /**
   * A long sub-step with its own progress inside the stage's last part (the quality report after a conversion),
   * so the GUI can show it moving while the stage's own fraction waits.
   */
  phase?: { title: string; fraction: number };
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A new image the GUI should show: a training preview grid, a conversion preview frame. */
export interface PreviewEvent {
  /** What it shows, for example `train-grid`, `timelapse`, `convert-frame`. */
  kind: string;
  /** Absolute path of the PNG/JPEG on disk (the shells serve it to the renderer). */
  path: string;
  iteration?: number;
}

/** Callbacks every stage receives; the AbortSignal is passed beside them (see src-main/engine/stage.ts). */
export interface StageReporter {
  progress(p: Progress): void;
  log(level: LogLevel, message: string): void;
  /** Optional: shells that show images (GUI) listen; the CLI ignores it. */
  preview?(p: PreviewEvent): void;
}

/**
 * Rate and ETA over a sliding window of recent (time, done) samples: steadier than an overall average after a
 * slow start (model loading) and quicker to follow a real change of speed.
 */
export class RateMeter {
  private samples: Array<[number, number]> = [];
  constructor(private readonly windowMs = 5000) {}

  /** Records `done` items at time `nowMs`; returns items per second (0 until two samples exist). */
  update(done: number, nowMs: number): number {
    this.samples.push([nowMs, done]);
    while (this.samples.length > 2 && nowMs - (this.samples[0]?.[0] ?? nowMs) > this.windowMs) this.samples.shift();
    return this.rate();
  }

  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last[0] <= first[0]) return 0;
    return ((last[1] - first[1]) * 1000) / (last[0] - first[0]);
  }

  /** Milliseconds left for `remaining` items at the current rate; undefined while the rate is unknown. */
  etaMs(remaining: number): number | undefined {
    const r = this.rate();
    return r > 0 ? (remaining / r) * 1000 : undefined;
  }
}
