/** Faces view helpers: sort keys over per-face metadata. */
export interface FaceMetaLite {
  blur?: number;
  size?: number;
  yaw?: number;
  distance?: number;
  /** Landmarks in 0..1 face coordinates. */
  landmarks?: ReadonlyArray<readonly [number, number]>;
}

export interface FaceOverlay {
  landmarks?: ReadonlyArray<readonly [number, number]>;
}

export type SortKey = 'name' | 'blur' | 'size' | 'yaw' | 'distance';

export const SORTS: ReadonlyArray<{ key: SortKey; label: string; help: string }> = [
  { key: 'name', label: 'Name (source, frame)', help: 'source file and frame order' },
  { key: 'blur', label: 'Blur (blurriest first)', help: 'sharpness from the Laplacian variance; blurriest first' },
  { key: 'size', label: 'Face size (smallest first)', help: 'face size in the source frame; smallest first' },
  { key: 'yaw', label: 'Yaw (most turned first)', help: 'head turn left/right; most turned first' },
  { key: 'distance', label: 'Distance from mean (outliers first)', help: 'distance from the identity’s mean face; outliers first' },
];

/** Names in sort order: for metric sorts, the "worst" faces first (what curation looks for); faces without the metric last. */
export function sortFaces(names: readonly string[], key: SortKey, meta: Readonly<Record<string, FaceMetaLite>> | undefined): string[] {
  if (key === 'name' || !meta) return [...names];
  const value = (n: string): number | undefined => {
    const m = meta[n];
    if (!m) return undefined;
    switch (key) {
      case 'blur':
        return m.blur; // low = blurry: ascending
      case 'size':
        return m.size;
      case 'yaw':
        return m.yaw === undefined ? undefined : -Math.abs(m.yaw);
      case 'distance':
        return m.distance === undefined ? undefined : -m.distance;
    }
  };
  const withV = names.map((n, i) => ({ n, i, v: value(n) }));
  withV.sort((a, b) => {
    if (a.v === undefined && b.v === undefined) return a.i - b.i;
    if (a.v === undefined) return 1;
    if (b.v === undefined) return -1;
    return a.v - b.v || a.i - b.i;
  });
  return withV.map((x) => x.n);
}

/** The value a metric sort orders by, as a short tile label ('' for name order or a face without it). */
export function scoreLabel(key: SortKey, m: FaceMetaLite | undefined): string | undefined {
  if (key === 'name' || !m) return undefined;
  const v = key === 'blur' ? m.blur : key === 'size' ? m.size : key === 'yaw' ? m.yaw : m.distance;
  if (v === undefined) return undefined;
  switch (key) {
    case 'blur':
      return v >= 100 ? v.toFixed(0) : v.toFixed(1);
    case 'size':
      return `${Math.round(v)} px`;
    case 'yaw':
      return `${Math.round(v)}°`;
    case 'distance':
      return v.toFixed(3);
  }
}
