// Worker-thread entry for a stage job. Registers tsx (the engine is TypeScript), then runs the typed worker.
import { register } from 'tsx/esm/api';

register();
await import('./stage-worker.ts');
