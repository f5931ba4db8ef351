/** Faces view helpers: sort keys over per-face metadata. */
export interface FaceMetaLite {
  blur?: number;
  size?: number;
  yaw?: number;
  distance?: number;
  /** Similarity 0..1 to Extract's reference faces, when it had some. */
  identity?: number;
  /** Landmarks in 0..1 face coordinates. */
  landmarks?: ReadonlyArray<readonly [number, number]>;
  /** Mask files beside the face and hands over it (0..1 polygons), from the alignments (docs/masks.md). */
  masks?: { painted?: string; segment?: string; hands?: ReadonlyArray<ReadonlyArray<readonly [number, number]>> };
}

export interface FaceOverlay {
  landmarks?: ReadonlyArray<readonly [number, number]>;
  masks?: FaceMetaLite['masks'];
}

/** Mask overlays of the Faces view: a mask file beside the face, the landmark hull, or the hands over the face. */
export type MaskOverlay = 'none' | 'painted' | 'segment' | 'hull' | 'hands';
export const MASK_OVERLAYS: ReadonlyArray<{ key: MaskOverlay; label: string; help: string }> = [
  { key: 'none', label: 'None', help: 'no mask overlay' },
  { key: 'painted', label: 'Painted', help: 'the mask painted in the mask editor (<face>.mask.png)' },
  { key: 'segment', label: 'Segment', help: "the segment model's mask (<face>.segment.png)" },
  { key: 'hull', label: 'Landmark hull', help: 'the hull of the landmarks, brows raised (the masked trainers)' },
  { key: 'hands', label: 'Hands', help: 'hands found over the face (cut out by convert --mask ...+hands)' },
];

/** The landmark hull of a face in 0..1 coordinates, brows raised by half their distance to the eyes. */
export function landmarkHull(lm: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  if (lm.length !== 68) return [];
  const p = (i: number) => lm[i] as readonly [number, number];
  const mid = (a: readonly number[], b: readonly number[]): [number, number] => [
    ((a[0] as number) + (b[0] as number)) / 2,
    ((a[1] as number) + (b[1] as number)) / 2,
  ];
  const under = [mid(p(36), mid(p(36), p(0))), p(36), p(37), p(38), p(39), p(42), p(43), p(44), p(45)];
  under.push(mid(p(45), mid(p(45), p(16))));
  const pts = lm.map((q, i): [number, number] => {
    if (i < 17 || i > 26) return [q[0], q[1]];
    const e = under[i - 17] as readonly number[];
    return [q[0] + (q[0] - (e[0] as number)) / 2, q[1] + (q[1] - (e[1] as number)) / 2];
  });
  const s = pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: number[], a: number[], b: number[]) =>
    ((a[0] as number) - (o[0] as number)) * ((b[1] as number) - (o[1] as number)) -
    ((a[1] as number) - (o[1] as number)) * ((b[0] as number) - (o[0] as number));
  const half = (list: Array<[number, number]>) => {
    const h: Array<[number, number]> = [];
    for (const q of list) {
      while (h.length >= 2 && cross(h[h.length - 2] as number[], h[h.length - 1] as number[], q) <= 0) h.pop();
      h.push(q);
    }
    h.pop();
    return h;
  };
  return [...half(s), ...half([...s].reverse())];
}

export type SortKey = 'name' | 'blur' | 'size' | 'yaw' | 'distance';

export const SORTS: ReadonlyArray<{ key: SortKey; label: string; help: string }> = [
  { key: 'name', label: 'Name (source, frame)', help: 'source file and frame order' },
  { key: 'blur', label: 'Blur (blurriest first)', help: 'sharpness from the Laplacian variance; blurriest first' },
  { key: 'size', label: 'Face size (smallest first)', help: 'face size in the source frame; smallest first' },
  { key: 'yaw', label: 'Yaw (most turned first)', help: 'head turn left/right; most turned first' },
  {
    key: 'distance',
    label: 'Distance from mean (outliers first)',
    help: 'distance from the identity’s mean face; outliers first',
  },
];

/** Names in sort order: for metric sorts, the "worst" faces first (what curation looks for); faces without the metric last. */
export function sortFaces(
  names: readonly string[],
  key: SortKey,
  meta: Readonly<Record<string, FaceMetaLite>> | undefined,
): string[] {
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

/** How the Faces view groups faces: by head pose (yaw bins) or by identity (similarity to Extract's references). */
export type GroupKey = 'none' | 'pose' | 'identity';

export const GROUPINGS: ReadonlyArray<{ key: GroupKey; label: string; help: string }> = [
  { key: 'none', label: 'No grouping', help: 'all faces in one grid' },
  { key: 'pose', label: 'Pose (yaw)', help: 'head turn in bins: left, 3/4 left, frontal, 3/4 right, right' },
  {
    key: 'identity',
    label: 'Identity (vs. references)',
    help: 'similarity to the reference faces Extract kept (its "Keep these people" option); faces extracted without references are "not measured"',
  },
];

export interface FaceGroup {
  key: string;
  label: string;
  /** What the bin holds, for a tooltip. */
  help: string;
  names: string[];
}

/** Yaw bins in degrees (yaw > 0: the face turns towards the image's right, see src-main/engine/face/pose.ts). */
const POSE_BINS: ReadonlyArray<{ key: string; label: string; help: string; test: (yaw: number) => boolean }> = [
  { key: 'left', label: 'Left', help: 'yaw below -45°', test: (y) => y < -45 },
  { key: 'left34', label: '3/4 left', help: 'yaw -45° to -15°', test: (y) => y < -15 },
  { key: 'frontal', label: 'Frontal', help: 'yaw -15° to 15°', test: (y) => y <= 15 },
  { key: 'right34', label: '3/4 right', help: 'yaw 15° to 45°', test: (y) => y <= 45 },
  { key: 'right', label: 'Right', help: 'yaw above 45°', test: () => true },
];

/** Similarity bins around Extract's default identity threshold (0.5). */
const IDENTITY_BINS: ReadonlyArray<{ key: string; label: string; help: string; test: (s: number) => boolean }> = [
  { key: 'close', label: 'Close match', help: 'similarity to a reference 0.7 or more', test: (s) => s >= 0.7 },
  { key: 'match', label: 'Match', help: 'similarity 0.5 to 0.7', test: (s) => s >= 0.5 },
  {
    key: 'far',
    label: 'Doubtful',
    help: 'similarity below 0.5 (the default identity threshold): maybe another person',
    test: () => true,
  },
];

/**
 * The faces in groups, each group in the given order; empty groups are left out. Faces without the measure
 * form a last "not measured" group.
 */
export function groupFaces(
  names: readonly string[],
  key: GroupKey,
  meta: Readonly<Record<string, FaceMetaLite>> | undefined,
): FaceGroup[] {
  if (key === 'none') return [{ key: 'all', label: 'All', help: 'all faces', names: [...names] }];
  const bins = key === 'pose' ? POSE_BINS : IDENTITY_BINS;
  const groups = bins.map((b) => ({ key: b.key, label: b.label, help: b.help, names: [] as string[] }));
  const unmeasured: string[] = [];
  for (const n of names) {
    const v = key === 'pose' ? meta?.[n]?.yaw : meta?.[n]?.identity;
    const i = v === undefined ? -1 : bins.findIndex((b) => b.test(v));
    if (i < 0) unmeasured.push(n);
    else groups[i]?.names.push(n);
  }
  const unknownHelp =
    key === 'pose' ? 'no head pose in the alignments' : 'extracted without reference faces: no identity measure stored';
  return [...groups, { key: 'none', label: 'Not measured', help: unknownHelp, names: unmeasured }].filter(
    (g) => g.names.length > 0,
  );
}
