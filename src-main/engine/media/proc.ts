/**
 * Child processes of the media engine (ffmpeg, ffprobe): spawning with a bounded stderr tail, a one-shot
 * runner that collects output, and a registry of live pids so that tests (and a debugging shell) can check
 * that no ffmpeg outlives the generator or writer that started it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { resolve } from 'node:path';

const live = new Set<number>();

/** Pids of the ffmpeg/ffprobe processes started by this module that have not exited yet. */
export function liveMediaPids(): number[] {
  return [...live];
}

/** Keeps the last `max` characters written to it (stderr of long runs must not grow without bound). */
export class TextTail {
  private text = '';
  constructor(private readonly max = 64 * 1024) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.max * 2) this.text = this.text.slice(-this.max);
  }
  toString(): string {
    return this.text.slice(-this.max);
  }
  /** The last non-empty line, trimmed; '' when there is none. */
  lastLine(): string {
    const lines = this.lines();
    return lines[lines.length - 1] ?? '';
  }
  lines(): string[] {
    return this.toString()
      .split(/\r?\n|\r/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0);
  }
}

export interface Spawned {
  child: ChildProcess;
  stderr: TextTail;
  /** Resolves when the process has exited (never rejects; a spawn error resolves with `error`). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>;
  /** True once the process has exited. */
  readonly done: boolean;
  /** Kills the process (SIGKILL unless told otherwise) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnTool(path: string, args: readonly string[], opts: SpawnOptions = {}): Spawned {
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, ...opts });
  const stderr = new TextTail();
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  let done = false;
  if (child.pid !== undefined) live.add(child.pid);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    let spawnError: Error | undefined;
    child.once('error', (error) => {
      spawnError = error;
      // A process that never started emits no 'close'.
      if (child.pid === undefined) {
        done = true;
        resolve({ code: null, signal: null, error });
      }
    });
    child.once('close', (code, signal) => {
      done = true;
      if (child.pid !== undefined) live.delete(child.pid);
      resolve(spawnError ? { code, signal, error: spawnError } : { code, signal });
    });
  });
  return {
    child,
    stderr,
    exited,
    get done() {
      return done;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (!done) {
        try {
          child.kill(signal);
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

/** Runs a tool to completion and returns its output (for short commands: -version, ffprobe). */
export async function runTool(
  path: string,
  args: readonly string[],
  opts: { timeoutMs?: number; signal?: AbortSignal; maxStdout?: number } = {},
): Promise<RunResult> {
  const p = spawnTool(path, args);
  const out: Buffer[] = [];
  let size = 0;
  const max = opts.maxStdout ?? 512 * 1024 * 1024;
  p.child.stdout?.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= max) out.push(c);
  });
  const timer = opts.timeoutMs ? setTimeout(() => void p.kill(), opts.timeoutMs) : undefined;
  const onAbort = () => void p.kill();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await p.exited;
    const res: RunResult = { code: r.code, stdout: Buffer.concat(out).toString('utf8'), stderr: p.stderr.toString() };
    if (r.error) res.error = r.error;
    return res;
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Last meaningful ffprobe/ffmpeg error line, without the `[demuxer @ 0x...]` prefix or the file name. */
export function cleanToolMessage(line: string, path: string): string {
  let s = line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/i, '');
  for (const p of [path, resolve(path)]) if (s.startsWith(`${p}: `)) s = s.slice(p.length + 2);
  return s.trim();
}
