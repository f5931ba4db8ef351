/**
 * One benchmark: `run` returns its measured numbers (JSON-serialisable). bench/run.ts discovers every
 * `bench/*.bench.ts`, runs each bench in order, prints one JSON document and writes it to bench/results/.
 */
export interface Bench {
  /** Stable id, for example `media.decode.720p`. */
  name: string;
  /** What is measured, with units. */
  description: string;
  run(): Promise<Record<string, unknown>>;
}
