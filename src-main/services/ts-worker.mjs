// Worker-thread bootstrap: registers tsx (the engine is TypeScript), then imports the worker module named in
// workerData.entry (a file: URL). Used by the job queue's stage workers and the convert preview worker.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
