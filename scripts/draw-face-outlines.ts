/**
 * Draws the face outlines of tests/fixtures/segment/ (the painted masks the segment model test trains and scores
 * on; docs/masks.md). Run once by hand, then reviewed on the contact sheet it writes:
 *
 *   npm run cli -- extract -i ../shared/testdata/videos/personA_short_lp-d18.mp4 -o /tmp/o/A --every-n 6 \
 *     --alignments /tmp/o/A.alignments.json
 *   npx tsx scripts/draw-face-outlines.ts /tmp/o/A /tmp/o/A.alignments.json 30 tests/fixtures/segment/personA-outlines.json /tmp/o/sheet.png
 *
 * The outline of each face is the skin that is connected to the nose, from the hairline down to the chin:
 * - skin is classified per pixel from its colour (red above green and blue by a margin, not too dark: this clip's
 *   skin against its grey-blue wall, dark brown hair and grey hoodie);
 * - it is flood-filled from the nose tip, inside a bound made of the jaw line (landmarks 0-16) and two lines from
 *   the jaw's ends up to the top, 4% of the crop outside them (so the ears and the neck are out, the temples in);
 * - holes (eyes, brows, an open mouth) are filled, the region is opened and closed by 2 px;
 * - the outline is traced as 72 rays from the region's centroid (the farthest skin of each ray, a face is
 *   star-shaped from its middle) and written in SOURCE FRAME pixels (the inverse of the face's alignment
 *   matrix), so the fixture does not depend on how a later extractor aligns the crop.
 * The top and the sides come from the image, not from the landmarks: the hairline and the temples are where the
 * skin ends. The contact sheet shows each outline over its face; the reviewed sheet had no outline cutting into
 * the face or leaking into hair or wall.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseAlignments } from '../src-shared/formats/alignments';

type P = [number, number];

function inside(poly: readonly P[], x: number, y: number): boolean {
  let c = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i] as P;
    const [xj, yj] = poly[j] as P;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

function morph(m: Uint8Array, S: number, r: number, grow: boolean): Uint8Array {
  const out: Uint8Array = new Uint8Array(S * S);
  for (let y = 0; y < S; y++)
    for (let x = 0; x < S; x++) {
      let v = grow ? 0 : 1;
      for (let dy = -r; dy <= r && v === (grow ? 0 : 1); dy++)
        for (let dx = -r; dx <= r; dx++) {
          if (dx * dx + dy * dy > r * r) continue;
          const q = m[Math.min(S - 1, Math.max(0, y + dy)) * S + Math.min(S - 1, Math.max(0, x + dx))] as number;
          if (grow && q) {
            v = 1;
            break;
          }
          if (!grow && !q) {
            v = 0;
            break;
          }
        }
      out[y * S + x] = v;
    }
  return out;
}

function outline(rgb: Buffer, S: number, lm: readonly P[]): P[] {
  const skin = new Uint8Array(S * S);
  for (let i = 0; i < S * S; i++) {
    const r = rgb[i * 3] as number;
    const g = rgb[i * 3 + 1] as number;
    const b = rgb[i * 3 + 2] as number;
    skin[i] = r > 90 && r - g > 12 && r - b > 12 ? 1 : 0;
  }
  const m = 0.04 * S;
  const jaw = lm.slice(0, 17);
  const bound: P[] = [...jaw, [(jaw[16] as P)[0] + m, 0], [(jaw[0] as P)[0] - m, 0]];
  const region = new Uint8Array(S * S);
  const nose = lm[30] as P;
  const stack: number[] = [Math.round(nose[1]) * S + Math.round(nose[0])];
  while (stack.length) {
    const i = stack.pop() as number;
    if (region[i] || !skin[i]) continue;
    const x = i % S;
    const y = (i - x) / S;
    if (!inside(bound, x + 0.5, y + 0.5)) continue;
    region[i] = 1;
    if (x > 0) stack.push(i - 1);
    if (x < S - 1) stack.push(i + 1);
    if (y > 0) stack.push(i - S);
    if (y < S - 1) stack.push(i + S);
  }
  // Fill holes: whatever the outside cannot reach is face.
  const outside = new Uint8Array(S * S);
  const q: number[] = [];
  for (let k = 0; k < S; k++) q.push(k, (S - 1) * S + k, k * S, k * S + S - 1);
  while (q.length) {
    const i = q.pop() as number;
    if (outside[i] || region[i]) continue;
    outside[i] = 1;
    const x = i % S;
    const y = (i - x) / S;
    if (x > 0) q.push(i - 1);
    if (x < S - 1) q.push(i + 1);
    if (y > 0) q.push(i - S);
    if (y < S - 1) q.push(i + S);
  }
  let face: Uint8Array = Uint8Array.from(outside, (v) => 1 - v);
  face = morph(morph(face, S, 2, false), S, 2, true); // open
  face = morph(morph(face, S, 2, true), S, 2, false); // close
  let cx = 0;
  let cy = 0;
  let n = 0;
  for (let i = 0; i < S * S; i++)
    if (face[i]) {
      cx += i % S;
      cy += Math.floor(i / S);
      n++;
    }
  cx /= n;
  cy /= n;
  const pts: P[] = [];
  for (let a = 0; a < 72; a++) {
    const t = (a / 72) * 2 * Math.PI;
    let last = 0;
    for (let r = 0; r < S; r += 0.5) {
      const x = Math.round(cx + r * Math.cos(t));
      const y = Math.round(cy + r * Math.sin(t));
      if (x < 0 || y < 0 || x >= S || y >= S) break;
      if (face[y * S + x]) last = r;
    }
    pts.push([cx + (last + 0.5) * Math.cos(t), cy + (last + 0.5) * Math.sin(t)]);
  }
  return pts;
}

async function main(): Promise<void> {
  const [facesDir, alignmentsFile, count, outFile, sheetFile] = process.argv.slice(2) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const doc = parseAlignments(JSON.parse(await readFile(alignmentsFile, 'utf8')), alignmentsFile);
  const S = doc.settings.size;
  const faces = Object.entries(doc.frames)
    .flatMap(([key, f]) => f.faces.slice(0, 1).map((face) => ({ key, face })))
    .filter((e) => e.face.file)
    .sort((a, b) => Number(a.key) - Number(b.key))
    .slice(0, Number(count));
  const out: Record<string, number[][]> = {};
  const tiles: Array<{ input: Buffer; left: number; top: number }> = [];
  for (const [k, { key, face }] of faces.entries()) {
    const [[a, b, c], [d, e, f]] = face.matrix;
    const toCrop = ([x, y]: P): P => [a * x + b * y + c, d * x + e * y + f];
    const det = a * e - b * d;
    const toSource = ([u, v]: P): P => [(e * (u - c) - b * (v - f)) / det, (-d * (u - c) + a * (v - f)) / det];
    const rgb = await sharp(join(facesDir, face.file as string))
      .removeAlpha()
      .raw()
      .toBuffer();
    const poly = outline(
      rgb,
      S,
      face.landmarks68.map((p) => toCrop(p as P)),
    );
    out[key] = poly.map((p) => toSource(p).map((v) => Math.round(v * 10) / 10));
    const svg = `<svg width="192" height="192" viewBox="0 0 ${S} ${S}"><polygon points="${poly.map((p) => p.join(',')).join(' ')}" fill="none" stroke="#0f0" stroke-width="1.5"/></svg>`;
    const small = await sharp(join(facesDir, face.file as string))
      .resize(192, 192)
      .png()
      .toBuffer();
    const tile = await sharp(small)
      .composite([{ input: Buffer.from(svg) }])
      .png()
      .toBuffer();
    tiles.push({ input: tile, left: (k % 6) * 192, top: Math.floor(k / 6) * 192 });
  }
  const fixture = {
    what: 'face outlines (polygons in source frame pixels) of personA_short_lp-d18.mp4, one face per frame; see README.md',
    video: 'videos/personA_short_lp-d18.mp4',
    frames: out,
  };
  await writeFile(outFile, `${JSON.stringify(fixture)}\n`);
  const rows = Math.ceil(tiles.length / 6);
  await sharp({ create: { width: 6 * 192, height: rows * 192, channels: 3, background: '#000' } })
    .composite(tiles)
    .png()
    .toFile(sheetFile);
  console.log(`${Object.keys(out).length} outlines -> ${outFile}; sheet ${sheetFile}`);
}

void main();
