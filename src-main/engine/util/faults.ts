/**
 * Fault injection for the reliability tests (docs/reliability.md). Off unless the FSS_FAULT environment variable
 * is set, and then only one fault per process:
 *   FSS_FAULT=kill:<step>        the process SIGKILLs itself the first time it reaches faultPoint(<step>)
 *   FSS_FAULT=kill:<step>:<n>    ... the n-th time
 *   FSS_FAULT=enospc:<n>         the n-th checked write (atomic-write.ts, counted per thread) writes half its bytes,
 *                                then fails with ENOSPC, as a full disk does
 * In-process tests set the same with setFault().
 * Steps are named where they are: 'atomic:written' (a temp file is complete, not yet renamed), 'model:*'
 * (model-io.ts), 'convert:*' (convert/run.ts), 'extract:*' (extract/run.ts).
 */

let kind = '';
let arg = '';
let nth = '1';
const counts = new Map<string, number>();
let writes = 0;

/** Sets the fault as FSS_FAULT would (in-process tests); '' for none. Counts restart. */
export function setFault(spec: string): void {
  [, kind = '', arg = '', nth = '1'] = /^(kill|enospc):(.+?)(?::(\d+))?$/.exec(spec) ?? [];
  counts.clear();
  writes = 0;
}
setFault(process.env.FSS_FAULT ?? '');

/** Marks a step of a save; under FSS_FAULT=kill:<step>[:<n>] the process dies here. */
export function faultPoint(step: string): void {
  if (kind !== 'kill' || arg !== step) return;
  const n = (counts.get(step) ?? 0) + 1;
  counts.set(step, n);
  if (n === Number(nth)) process.kill(process.pid, 'SIGKILL');
}

/** Whether this checked write should fail with ENOSPC (FSS_FAULT=enospc:<n>). */
export function enospcFault(): boolean {
  if (kind !== 'enospc') return false;
  writes++;
  return writes === Number(arg);
}

export function enospcError(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), {
    code: 'ENOSPC',
    errno: -28,
    syscall: 'write',
    path,
  });
}
