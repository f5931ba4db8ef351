/**
 * The compute backends, named once: the tfjs backends the engine can run on (src-main/engine/tf/backend.ts) and
 * what a user may choose (a stage's `--backend`, the studio's setting): one of them, or `auto`.
 */

/** The tfjs backends, in the order `doctor` lists them (a CUDA build, WebGPU, then the two CPU backends). */
export const TF_BACKENDS = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type TfBackendName = (typeof TF_BACKENDS)[number];

/** A backend choice: `auto` picks the fastest one available (`autoChoice`), or the studio's setting. */
export const BACKEND_CHOICES = ['auto', ...TF_BACKENDS] as const;
export type TfBackendChoice = (typeof BACKEND_CHOICES)[number];

export function isTfBackend(v: unknown): v is TfBackendName {
  return (TF_BACKENDS as readonly unknown[]).includes(v);
}
