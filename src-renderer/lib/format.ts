/** Small display helpers shared by the views. */

/** `1h 02m`, `3m 05s`, `12s`; '–' when unknown. */
export function formatDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

export function formatRate(rate: number | undefined, unit = '/s'): string {
  if (rate === undefined || !Number.isFinite(rate)) return '–';
  return `${rate >= 100 ? rate.toFixed(0) : rate >= 10 ? rate.toFixed(1) : rate.toFixed(2)} ${unit}`;
}

export function formatPercent(f: number | undefined): string {
  return f === undefined ? '–' : `${Math.floor(Math.min(1, Math.max(0, f)) * 100)}%`;
}

export function basename(p: string): string {
  const parts = p.split(/[/\\]/);
  return parts[parts.length - 1] ?? p;
}

/** Joins path segments with the separator of the first one. */
export function joinPath(...parts: string[]): string {
  const sep = parts[0]?.includes('\\') && !parts[0].includes('/') ? '\\' : '/';
  return parts
    .filter((p) => p !== '')
    .map((p, i) => (i === 0 ? p.replace(/[/\\]+$/, '') : p.replace(/^[/\\]+|[/\\]+$/g, '')))
    .join(sep);
}

export function stem(p: string): string {
  const b = basename(p);
  const i = b.lastIndexOf('.');
  return i > 0 ? b.slice(0, i) : b;
}

const VIDEO_RE = /\.(mp4|mov|mkv|webm|avi|m4v)$/i;
export const isVideo = (p: string): boolean => VIDEO_RE.test(p);

/**
 * Help text for the GUI: option help is shared with the CLI and names other options by their flags
 * (`--frame-ranges`, `--no-warp`); the GUI names them by their field label instead.
 */
export function guiHelp(help: string | undefined): string {
  if (!help) return '';
  const label = (kebab: string) => `"${kebab.charAt(0).toUpperCase()}${kebab.slice(1).replace(/-/g, ' ')}"`;
  return help
    .replace(/--no-([a-z][a-z0-9-]*)/g, (_, k: string) => `${label(k)} off`)
    .replace(/--([a-z][a-z0-9-]*)/g, (_, k: string) => label(k));
}

/** The frame number of an aligned face file written by extract (`<stem>_<frame 6 digits>_<face>.png`). */
export { alignedFaceFrame as faceFrame } from '../../src-shared/formats/alignments';

/** Frame ranges (`a-b`, inclusive) covering 0..count-1 except `skip`. */
export function rangesWithout(count: number, skip: ReadonlySet<number>): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= count; i++) {
    const keep = i < count && !skip.has(i);
    if (keep && start < 0) start = i;
    else if (!keep && start >= 0) {
      out.push(`${start}-${i - 1}`);
      start = -1;
    }
  }
  return out;
}
