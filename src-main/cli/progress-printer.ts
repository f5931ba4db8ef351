/**
 * How the CLI shows a running stage: a single redrawn status line on a terminal, a line every few seconds
 * when stderr is a file or pipe, or with --json one JSON object per line on stdout (progress, log, result).
 */
import type { LogLevel, Progress } from '../../src-shared/progress';
import type { StageContext } from '../engine/stage';

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0
    ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`
    : `${m}:${String(sec).padStart(2, '0')}`;
}

export function formatProgress(p: Progress): string {
  const parts = [`${p.title}`, `${(p.fraction * 100).toFixed(1).padStart(5)}%`];
  if (p.done !== undefined) parts.push(p.total !== undefined ? `${p.done}/${p.total}` : `${p.done}`);
  if (p.rate !== undefined && p.rate > 0)
    parts.push(`${p.rate.toFixed(p.rate < 10 ? 2 : 1)} ${p.rateUnit ?? 'items/s'}`);
  if (p.etaMs !== undefined) parts.push(`ETA ${formatDuration(p.etaMs)}`);
  if (p.metrics)
    parts.push(
      Object.entries(p.metrics)
        .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toPrecision(4)}`)
        .join(' '),
    );
  if (p.detail) parts.push(p.detail);
  return parts.join('  ');
}

/** Human output keeps long per-frame series out of the terminal (`--json` prints them whole). */
function compactArrays(_key: string, value: unknown): unknown {
  return Array.isArray(value) && value.length > 24 && typeof value[0] === 'object'
    ? `[${value.length} entries; --json prints them]`
    : value;
}

export interface Printer {
  context(signal: AbortSignal): StageContext;
  result(value: unknown): void;
  /** Clears the status line before other output. */
  finish(): void;
}

export function createPrinter(opts: { json: boolean; verbose?: boolean }): Printer {
  const tty = process.stderr.isTTY === true;
  // Off a terminal, a line is printed every 2 s once the stage has moved past 0 %: a failure while a stage is
  // still opening its input (however slow the machine is to load) prints only its error.
  let lastLine = tty ? 0 : Date.now();
  let drawn = false;
  const clear = () => {
    if (drawn) process.stderr.write('\r\x1b[2K');
    drawn = false;
  };
  return {
    context(signal) {
      return {
        signal,
        progress(p: Progress) {
          if (opts.json) {
            const { metrics, ...rest } = p;
            process.stdout.write(`${JSON.stringify({ type: 'progress', ...rest, ...metrics })}\n`);
            return;
          }
          const now = Date.now();
          if (tty) {
            if (now - lastLine < 100 && p.fraction < 1) return;
            lastLine = now;
            process.stderr.write(`\r\x1b[2K${formatProgress(p).slice(0, (process.stderr.columns || 120) - 1)}`);
            drawn = true;
          } else if ((now - lastLine > 2000 && p.fraction > 0) || p.fraction >= 1) {
            lastLine = now;
            process.stderr.write(`${formatProgress(p)}\n`);
          }
        },
        log(level: LogLevel, message: string) {
          if (level === 'debug' && !opts.verbose) return;
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ type: 'log', level, message })}\n`);
            return;
          }
          clear();
          process.stderr.write(`${level === 'info' ? '' : `${level}: `}${message}\n`);
        },
      };
    },
    result(value) {
      clear();
      if (opts.json) process.stdout.write(`${JSON.stringify({ type: 'result', result: value })}\n`);
      else if (value !== undefined) {
        process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, compactArrays, 2)}\n`);
        // A quality report's verdict (evaluate, convert) is the summary's last line, in plain words.
        const verdict = (value as { verdict?: unknown }).verdict;
        if (typeof verdict === 'string') process.stdout.write(`verdict: ${verdict}\n`);
      }
    },
    finish: clear,
  };
}
