/**
 * Measures the mesh-to-iBUG-68 landmarks against the test data's ground truth and refits the mapping weights
 * (src-main/engine/face/ibug68-weights.json, `IBUG68_WEIGHTS`); docs/alignments.md describes the procedure.
 *
 *   node --import tsx scripts/fit-ibug68.ts            # NME of the shipped weights, direct and mirror-averaged
 *   node --import tsx scripts/fit-ibug68.ts --fit      # also refit on dlib_pascal's train images, print the table
 *
 * Held-out split: dlib's own one (its XMLs: 4 "training" images, 18 faces, fit; 5 "testing" images, 25 faces, and
 * the 2 human-annotated 300-W faces, test). Faces are matched to the ground truth by box IoU > 0.3.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { td } from '../tests/helpers/testdata';
import { loadFaceModels } from '../src-main/engine/face/human';
import { FaceDetector, DEFAULT_DETECT, boxIou } from '../src-main/engine/face/detector';
import { ImagePyramid } from '../src-main/engine/face/image';
import { readImageRgb } from '../src-main/engine/media/images';
import { IBUG68_MIRROR, IBUG68_WEIGHTS } from '../src-main/engine/face/ibug68';
import type { BoxXYWH, Point2, Point3 } from '../src-main/engine/face/types';

interface GtFile {
  images: Array<{ file: string; faces: Array<{ bbox_xywh: BoxXYWH; landmarks: Point2[]; split?: string }> }>;
}
interface Sample {
  set: string;
  file: string;
  split: 'train' | 'test';
  gt: Point2[];
  /** The direct pass first, then the mirrored pass, then more passes on jittered regions (see `collect`). */
  passes: Array<{ mesh: Point3[]; mirrored: boolean; tag: string }>;
}
type Weights = ReadonlyArray<ReadonlyArray<readonly [number, number]>>;

const nme = (a: readonly Point2[], g: readonly Point2[]) => {
  const d = Math.hypot(g[36]![0] - g[45]![0], g[36]![1] - g[45]![1]);
  return a.reduce((s, p, i) => s + Math.hypot(p[0] - g[i]![0], p[1] - g[i]![1]), 0) / 68 / d;
};

function apply(w: Weights, mesh: readonly Point3[]): Point2[] {
  return w.map((row) => {
    let x = 0,
      y = 0;
    for (const [j, v] of row) {
      x += v * mesh[j]![0];
      y += v * mesh[j]![1];
    }
    return [x, y] as Point2;
  });
}

/** Landmarks of a sample: the mean of the chosen passes (mirrored ones relabelled). */
function predict(w: Weights, s: Sample, tags: readonly string[]): Point2[] {
  const ps = s.passes.filter((p) => tags.includes(p.tag));
  const out = Array.from({ length: 68 }, () => [0, 0] as Point2);
  for (const p of ps) {
    const lm = apply(w, p.mesh);
    for (let i = 0; i < 68; i++) {
      const q = lm[p.mirrored ? IBUG68_MIRROR[i]! : i]!;
      out[i]![0] += q[0] / ps.length;
      out[i]![1] += q[1] / ps.length;
    }
  }
  return out;
}

async function collect(): Promise<Sample[]> {
  const models = await loadFaceModels();
  const det = new FaceDetector(models);
  const out: Sample[] = [];
  for (const set of ['300w', 'dlib_pascal']) {
    const gt = JSON.parse(await readFile(td('landmarks', set, `${set}_landmarks.json`), 'utf8')) as GtFile;
    for (const im of gt.images) {
      const pyr = new ImagePyramid(await readImageRgb(td('landmarks', set, im.file)));
      const faces = await det.detect(pyr, DEFAULT_DETECT);
      for (const g of im.faces) {
        const f = faces
          .map((x) => ({ x, iou: boxIou(x.box, g.bbox_xywh) }))
          .filter((c) => c.iou > 0.3)
          .sort((a, b) => b.iou - a.iou)[0]?.x;
        if (!f) continue;
        const passes: Sample['passes'] = [{ mesh: f.mesh, mirrored: false, tag: 'd' }];
        const jitters: Array<[string, number, number, number]> = [
          ['', 1, 0, 0],
          ['s-', 0.9, 0, 0],
          ['s+', 1.1, 0, 0],
          ['x-', 1, -0.05, 0],
          ['x+', 1, 0.05, 0],
          ['y-', 1, 0, -0.05],
          ['y+', 1, 0, 0.05],
        ];
        for (const [tag, sc, dx, dy] of jitters) {
          for (const mirrored of tag ? [false, true] : [true]) {
            const roi = {
              ...f.roi,
              size: f.roi.size * sc,
              cx: f.roi.cx + dx * f.roi.size,
              cy: f.roi.cy + dy * f.roi.size,
            };
            const r = await det.meshAt(pyr, roi, mirrored);
            if (r) passes.push({ mesh: r.mesh, mirrored, tag: (mirrored ? 'm' : 'd') + tag });
          }
        }
        out.push({
          set,
          file: im.file,
          split: set === '300w' ? 'test' : g.split === 'train' ? 'train' : 'test',
          gt: g.landmarks,
          passes,
        });
      }
    }
  }
  return out;
}

/** Solves A x = b (small dense system) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = M[r]![c]! / M[c]![c]!;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r]![n]!;
    for (let k = r + 1; k < n; k++) s -= M[r]![k]! * x[k]!;
    x[r] = s / M[r]![r]!;
  }
  return x;
}

/**
 * Ridge least squares of each point's weights over its row's vertices (the shipped rows), pulled towards the
 * anchor vertex alone, errors in outer-eye distances, weights summing to 1 (a heavily weighted equation). With
 * `mirror` the model is the mirror-averaged one, which couples point i and its mirror point: both are fitted
 * together.
 */
function fit(train: Sample[], lambda: number, tags: readonly string[]): Weights {
  const W = IBUG68_WEIGHTS.map((r) => r.map(([j]) => [j, 0] as [number, number]));
  const done = new Set<number>();
  for (let i = 0; i < 68; i++) {
    if (done.has(i)) continue;
    const k = IBUG68_MIRROR[i]!;
    const pts = i === k ? [i] : [i, k];
    pts.forEach((p) => done.add(p));
    const vars = pts.flatMap((p) => IBUG68_WEIGHTS[p]!.map(([j]) => ({ p, j })));
    const n = vars.length;
    const A = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    const b = new Array<number>(n).fill(0);
    const addRow = (row: number[], target: number, wt = 1) => {
      for (let u = 0; u < n; u++) {
        if (!row[u]) continue;
        b[u]! += wt * row[u]! * target;
        for (let v = 0; v < n; v++) A[u]![v]! += wt * row[u]! * row[v]!;
      }
    };
    for (const s of train) {
      const d = Math.hypot(s.gt[36]![0] - s.gt[45]![0], s.gt[36]![1] - s.gt[45]![1]);
      for (const p of pts) {
        for (const axis of [0, 1]) {
          // prediction of point p = mean over the passes of its own weights on a direct pass's mesh and of its
          // mirror point's weights on a mirrored pass's mesh
          const ps = s.passes.filter((x) => tags.includes(x.tag));
          const row = vars.map(({ p: q, j }) => {
            let v = 0;
            for (const x of ps) if (q === (x.mirrored ? IBUG68_MIRROR[p] : p)) v += x.mesh[j]![axis]!;
            return v / ps.length / d;
          });
          addRow(row, s.gt[p]![axis]! / d);
        }
      }
    }
    // ridge towards the anchor vertex alone, and sum-to-one per point
    vars.forEach(({ j, p }, u) => {
      const row = new Array<number>(n).fill(0);
      row[u] = 1;
      addRow(row, j === IBUG68_WEIGHTS[p]![0]![0] ? 1 : 0, lambda * train.length);
    });
    for (const p of pts)
      addRow(
        vars.map((v) => (v.p === p ? 1 : 0)),
        1,
        1e4 * train.length,
      );
    const x = solve(A, b);
    vars.forEach(({ p, j }, u) => {
      const e = W[p]!.find((r) => r[0] === j)!;
      e[1] = Math.round(x[u]! * 1000) / 1000;
    });
    // rounded to 3 decimals, each row still sums to exactly 1: the anchor takes the rounding
    for (const p of pts) {
      const row = W[p]!;
      row[0]![1] = Math.round((1 - row.slice(1).reduce((a, r) => a + r[1], 0)) * 1000) / 1000;
    }
  }
  return W;
}

function report(label: string, w: Weights, samples: Sample[], tags: readonly string[]) {
  const by = (f: (s: Sample) => boolean) => {
    const v = samples.filter(f).map((s) => nme(predict(w, s, tags), s.gt));
    return {
      n: v.length,
      mean: +(v.reduce((a, b) => a + b, 0) / v.length).toFixed(4),
      max: +Math.max(...v).toFixed(4),
      faces: v.length <= 2 ? v.map((x) => +x.toFixed(4)) : undefined,
    };
  };
  console.log(
    JSON.stringify({
      label,
      '300w': by((s) => s.set === '300w'),
      dlibTrain: by((s) => s.set !== '300w' && s.split === 'train'),
      dlibTest: by((s) => s.set !== '300w' && s.split === 'test'),
    }),
  );
}

const cache = process.env.FIT_CACHE;
let samples: Sample[];
if (cache) {
  try {
    samples = JSON.parse(await readFile(cache, 'utf8')) as Sample[];
  } catch {
    samples = await collect();
    await (await import('node:fs/promises')).writeFile(cache, JSON.stringify(samples));
  }
} else samples = await collect();

const TTA: Record<string, string[]> = {
  direct: ['d'],
  mirror: ['d', 'm'],
  scale: ['d', 'm', 'ds-', 'ms-', 'ds+', 'ms+'],
  all: ['d', 'm', 'ds-', 'ms-', 'ds+', 'ms+', 'dx-', 'mx-', 'dx+', 'mx+', 'dy-', 'my-', 'dy+', 'my+'],
};
const vertices: Weights = IBUG68_WEIGHTS.map((r) => [[r[0]![0], 1] as const]);
report('single vertices', vertices, samples, TTA.direct!);
for (const [k, t] of Object.entries(TTA)) report(`shipped weights, ${k}`, IBUG68_WEIGHTS, samples, t);
if (process.argv.includes('--fit')) {
  const train = samples.filter((s) => s.split === 'train');
  for (const lambda of [0.001, 0.005, 0.02])
    for (const [k, t] of Object.entries(TTA)) report(`refit lambda ${lambda}, ${k}`, fit(train, lambda, t), samples, t);
  const lambda = Number(process.env.FIT_LAMBDA ?? 0.005);
  const tta = process.env.FIT_TTA ?? 'mirror';
  const w = fit(train, lambda, TTA[tta]!);
  for (const [k, t] of Object.entries(TTA))
    report(`chosen weights (lambda ${lambda}, ${tta}), used ${k}`, w, samples, t);
  console.log(join('weights', `lambda ${lambda}, ${tta}`));
  console.log(JSON.stringify(w));
}
