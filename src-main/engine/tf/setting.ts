/**
 * The backend a stage's `--backend auto` stands for in this thread, apart from backend.ts so that setting it
 * loads no tfjs: the studio's job and preview workers set it from the user's setting (`configureTfBackend`,
 * `auto` included); unset (the CLI, scripts), it is the environment's FSS_BACKEND.
 */
import { isTfBackend, type TfBackendChoice, type TfBackendName } from '../../../src-shared/backends';

let configured: TfBackendChoice | undefined;

/** Sets the backend `auto` stands for in this thread (the studio's setting); undefined goes back to FSS_BACKEND. */
export function configureTfBackend(choice: TfBackendChoice | undefined): void {
  configured = choice;
}

/** The backend `auto` stands for here, when one is set: the configured setting, else FSS_BACKEND. */
export function settingBackend(): TfBackendName | undefined {
  const s = configured ?? process.env.FSS_BACKEND;
  return isTfBackend(s) ? s : undefined;
}
