/**
 * The quality-against-time table (markdown) and plot (PNG, an SVG rendered by sharp) of `quality.time`: one line
 * per setting for retrieval to the target, identity margin and sharpness ratio, against minutes of training.
 */
import sharp from 'sharp';

export type TimeRow = Record<string, unknown> & { minutes: number };

const METRICS = [
  ['retrievalToTarget', 'retrieval to B', 0.8],
  ['margin', 'identity margin', 0.1],
  ['sharpness', 'sharpness ratio', 0.6],
] as const;
const COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd'];
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** One markdown table: a row per (setting, minutes). */
export function qualityTimeTable(series: Record<string, TimeRow[]>): string {
  const cols = [
    'iteration',
    'verdict',
    'retrievalToTarget',
    'margin',
    'sharpness',
    'poseErrorDeg',
    'expressionError',
    'reconstructionSsimA',
  ];
  const head = `| setting | minutes | ${cols.join(' | ')} |\n|${' --- |'.repeat(cols.length + 2)}`;
  const rows = Object.entries(series).flatMap(([name, rows]) =>
    rows.map((r) => `| ${name} | ${r.minutes} | ${cols.map((c) => String(r[c] ?? '–')).join(' | ')} |`),
  );
  return [head, ...rows].join('\n');
}

/** Three panels side by side, the acceptance level of each dashed. */
export async function qualityTimePlot(series: Record<string, TimeRow[]>, path: string): Promise<void> {
  const W = 300;
  const H = 220;
  const pad = { l: 40, r: 10, t: 28, b: 32 };
  const maxMin = Math.max(60, ...Object.values(series).flatMap((rows) => rows.map((r) => r.minutes)));
  const parts: string[] = [];
  METRICS.forEach(([key, title, level], k) => {
    const x0 = k * W;
    const values = Object.values(series).flatMap((rows) => rows.map((r) => num(r[key]) ?? 0));
    const lo = Math.min(0, ...values);
    const hi = Math.max(key === 'margin' ? 0.2 : 1, ...values);
    const px = (m: number) => x0 + pad.l + (m / maxMin) * (W - pad.l - pad.r);
    const py = (v: number) => pad.t + (1 - (v - lo) / (hi - lo || 1)) * (H - pad.t - pad.b);
    parts.push(
      `<text x="${x0 + W / 2}" y="16" text-anchor="middle" font-size="13">${title}</text>`,
      `<line x1="${px(0)}" y1="${py(lo)}" x2="${px(maxMin)}" y2="${py(lo)}" stroke="#888"/>`,
      `<line x1="${px(0)}" y1="${py(lo)}" x2="${px(0)}" y2="${py(hi)}" stroke="#888"/>`,
      `<line x1="${px(0)}" y1="${py(level)}" x2="${px(maxMin)}" y2="${py(level)}" stroke="#aaa" stroke-dasharray="4 3"/>`,
      `<text x="${px(0) - 4}" y="${py(hi) + 4}" text-anchor="end" font-size="10">${hi.toFixed(1)}</text>`,
      `<text x="${px(0) - 4}" y="${py(lo) + 4}" text-anchor="end" font-size="10">${lo.toFixed(1)}</text>`,
      `<text x="${px(maxMin)}" y="${H - 8}" text-anchor="end" font-size="10">${maxMin} min</text>`,
    );
    Object.values(series).forEach((rows, s) => {
      const pts = rows.flatMap((r) => {
        const v = num(r[key]);
        return v === undefined ? [] : [`${px(r.minutes).toFixed(1)},${py(v).toFixed(1)}`];
      });
      const c = COLOURS[s % COLOURS.length];
      parts.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`);
      for (const p of pts) parts.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${c}"/>`);
    });
  });
  Object.keys(series).forEach((name, s) =>
    parts.push(
      `<text x="${10 + s * 260}" y="${H + 14}" font-size="11" fill="${COLOURS[s % COLOURS.length]}">${name}</text>`,
    ),
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${3 * W}" height="${H + 22}"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path);
}
