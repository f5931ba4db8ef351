/**
 * The convert runner end to end on person A's real video, with a synthetic swapper (a colour cast) so it runs
 * in seconds: frame count, fps, size and audio kept, label in the metadata and the provenance sidecar, frames
 * untouched outside the swapped regions (PSNR against a plain re-encode), --frame-ranges / --discard-frames,
 * --faces-dir curation, and the one-line errors that leave an existing output as it was.
 */
import { cp, mkdir, readdir, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../src-shared/options';
import { convertOptions } from '../../src-shared/stages/convert';
import { parseAlignments, type Alignments } from '../../src-shared/formats/alignments';
import { runConvert } from '../../src-main/engine/convert/run';
import { syntheticSwapper } from '../../src-main/engine/convert/swapper';
import { DIGITAL_SOURCE_TYPE, readContentCredentials } from '../../src-main/engine/convert/content-credentials';
import { faceRoi, DEFAULT_BLEND } from '../../src-main/engine/convert/blend';
import { modelMatrix } from '../../src-main/engine/convert/swapper';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { createVideoWriter } from '../../src-main/engine/media/encode';
import { probeVideo } from '../../src-main/engine/media/probe';
import { resolveFfprobe } from '../../src-main/engine/media/ffmpeg';
import { runTool } from '../../src-main/engine/media/proc';
import { quietContext, recordingContext } from '../../src-main/engine/stage';
import { isUserError } from '../../src-shared/errors';
import { extractInThread } from '../helpers/extract';
import { hasTestdata, scratchDir, td, videos } from '../helpers/testdata';

let dir = '';
let input = '';
let alPath = '';
let facesDir = '';
let al: Alignments;
let plain = '';
const swapper = syntheticSwapper({ kind: 'shift', amount: 0.2 });
const base = (o: Record<string, unknown>) =>
  parseOptions(convertOptions, { input, model: join(dir, 'no-model'), color: 'none', ...o });

async function frames(path: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const f of decodeFrames(path)) out.push(f.data);
  return out;
}

function psnr(a: Buffer, b: Buffer, keep?: (p: number) => boolean): number {
  let se = 0,
    n = 0;
  for (let p = 0; p < a.length / 3; p++) {
    if (keep && !keep(p)) continue;
    for (let c = 0; c < 3; c++) {
      const d = a[p * 3 + c]! - b[p * 3 + c]!;
      se += d * d;
    }
    n += 3;
  }
  return se === 0 ? 99 : 10 * Math.log10((255 * 255) / (se / n));
}

async function tags(path: string): Promise<Record<string, string>> {
  const fp = await resolveFfprobe();
  const r = await runTool(fp.path, ['-v', 'error', '-show_entries', 'format_tags', '-of', 'json', path]);
  return (JSON.parse(r.stdout) as { format?: { tags?: Record<string, string> } }).format?.tags ?? {};
}

beforeAll(async () => {
  if (!hasTestdata) return;
  dir = await scratchDir('convert-run');
  process.env.FSS_CONFIG_DIR = join(dir, 'config'); // the content-credentials identity is made in the scratch folder
  input = join(dir, 'personA.mp4');
  await cp(videos.personA, input);
  facesDir = join(dir, 'faces');
  await extractInThread({ input, output: facesDir });
  alPath = `${input}.alignments.json`;
  al = parseAlignments(JSON.parse(await readFile(alPath, 'utf8')), alPath);
  // Plain re-encode of the input with the same settings: the reference outside the swapped regions.
  const info = await probeVideo(input);
  plain = join(dir, 'plain.mp4');
  const w = await createVideoWriter({
    path: plain,
    width: info.width,
    height: info.height,
    fps: info.fpsRational,
    crf: 18,
    preset: 'fast',
  });
  for await (const f of decodeFrames(input)) await w.write(f.data);
  await w.close();
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!hasTestdata)('convert runner on person A', () => {
  it('keeps frame count, fps, size and audio, labels the output, and only changes the faces', async () => {
    const out = join(dir, 'out.mp4');
    const ctx = recordingContext();
    const t0 = performance.now();
    const r = await runConvert(base({ output: out }), ctx, { swapper });
    const wall = (performance.now() - t0) / 1000;
    const a = await probeVideo(input),
      b = await probeVideo(out);
    expect([b.frameCount, b.width, b.height, b.hasAudio]).toEqual([a.frameCount, a.width, a.height, a.hasAudio]);
    expect(b.fps).toBeCloseTo(a.fps, 3);
    expect(r.frames).toBe(a.frameCount);
    const t = await tags(out);
    expect(t.comment).toMatch(/^Synthetic media: faces replaced by Faceswap Studio \d+\.\d+\.\d+ on \d{4}-/);
    const prov = JSON.parse(await readFile(`${out}.provenance.json`, 'utf8')) as {
      syntheticMedia: boolean;
      inputs: { input: { sha256: string } };
      contentCredentials: unknown;
    };
    expect(prov.syntheticMedia).toBe(true);
    // C2PA Content Credentials in the MP4 (c2pa-rs validates: signature, BMFF hash; the signer is a local CA's).
    const cc = await readContentCredentials(await readFile(out), 'video/mp4');
    expect(cc?.intact, cc?.failures.join(' ')).toBe(true);
    expect(cc!.successes).toContain('assertion.bmffHash.match');
    expect(cc!.failures).toEqual(['signingCredential.untrusted']);
    expect(cc!.actions[0]).toMatchObject({ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE });
    expect(prov.contentCredentials).toEqual({ embedded: true, signedBy: r.contentCredentials });
    expect(prov.inputs.input.sha256).toBe(al.source.sha256);
    // Progress: monotonic, ends at exactly 1.
    const fr = ctx.events.map((e) => e.fraction);
    expect(fr.every((f, i) => i === 0 || f >= fr[i - 1]!)).toBe(true);
    expect(fr[fr.length - 1]).toBe(1);

    const conv = await frames(out),
      ref = await frames(plain);
    let worstOutside = 99,
      changedInside = 0;
    const W = a.width,
      H = a.height;
    for (let i = 0; i < conv.length; i++) {
      const inFace = new Uint8Array(W * H);
      for (const f of al.frames[String(i)]?.faces ?? []) {
        const m = modelMatrix(f.matrix, al.settings.size, swapper.outputSize, swapper.coverage);
        const roi = faceRoi({ matrix: m, size: swapper.outputSize, landmarks: f.landmarks68 }, W, H, DEFAULT_BLEND)!;
        for (let y = roi.y; y < roi.y + roi.h; y++) inFace.fill(1, y * W + roi.x, y * W + roi.x + roi.w);
      }
      worstOutside = Math.min(
        worstOutside,
        psnr(conv[i]!, ref[i]!, (p) => !inFace[p]),
      );
      if (psnr(conv[i]!, ref[i]!, (p) => inFace[p] === 1) < 25) changedInside++;
    }
    console.log(
      `convert-run: ${r.frames} frames in ${wall.toFixed(1)} s (${r.fps.toFixed(1)} frames/s), worst PSNR outside faces ${worstOutside.toFixed(1)} dB, frames changed inside ${changedInside}`,
    );
    expect(worstOutside).toBeGreaterThanOrEqual(40);
    expect(changedInside).toBeGreaterThan(conv.length * 0.9);
  });

  it('--frame-ranges: frames outside equal the input; --discard-frames writes only the ranges', async () => {
    const out = join(dir, 'ranges.mp4');
    await runConvert(base({ output: out, frameRanges: ['10-19', '100-104'] }), quietContext(), { swapper });
    const conv = await frames(out),
      ref = await frames(plain);
    expect(conv.length).toBe(ref.length);
    for (let i = 0; i < conv.length; i++) {
      const p = psnr(conv[i]!, ref[i]!);
      if ((i >= 10 && i <= 19) || (i >= 100 && i <= 104)) expect(p).toBeLessThan(35);
      else expect(p).toBeGreaterThanOrEqual(40);
    }
    const cut = join(dir, 'cut.mp4');
    const r = await runConvert(
      base({ output: cut, frameRanges: ['10-19', '100-104'], discardFrames: true, label: false }),
      quietContext(),
      { swapper },
    );
    expect(r.frames).toBe(15);
    expect((await probeVideo(cut)).frameCount).toBe(15);
    // --no-label: no synthetic-media tag and no sidecar.
    expect((await tags(cut)).comment).toBeUndefined();
    expect(r.provenance).toBeUndefined();
    await expect(readFile(`${cut}.provenance.json`)).rejects.toThrow();
  });

  it('--faces-dir: a face whose aligned PNG was deleted is not swapped', async () => {
    const curated = join(dir, 'curated');
    await cp(facesDir, curated, { recursive: true });
    const drop = al.frames['30']!.faces[0]!.file!;
    await rm(join(curated, drop));
    const out = join(dir, 'curated-out');
    const r = await runConvert(
      base({ output: out, facesDir: curated, frameRanges: ['28-32'], discardFrames: true }),
      quietContext(),
      { swapper },
    );
    expect(r.skippedFaces).toBe(1);
    const names = (await readdir(out)).filter((n) => n.endsWith('.png')).sort();
    expect(names).toHaveLength(5);
    expect(r.faces).toBe(4);
  });

  it('--filter / --nfilter: only faces like the reference photo are swapped (or never, with --nfilter)', async () => {
    const still = td('identity', 'liveportrait_personA', 'personA_still.jpg');
    const keep = await runConvert(
      base({ output: join(dir, 'filter-out'), filter: [still], frameRanges: ['0-2'], discardFrames: true }),
      quietContext(),
      { swapper },
    );
    expect([keep.faces, keep.filteredFaces]).toEqual([3, 0]);
    const drop = await runConvert(
      base({ output: join(dir, 'nfilter-out'), nfilter: [still], frameRanges: ['0-2'], discardFrames: true }),
      quietContext(),
      { swapper },
    );
    expect([drop.faces, drop.filteredFaces]).toEqual([0, 3]);
  });

  it('a photo without alignments: faces detected on the fly, written to a folder with a provenance file', async () => {
    const out = join(dir, 'photo-out');
    const r = await runConvert(
      base({ input: td('faces', 'multi2_obama-biden_fr-two_people.jpg'), output: out, watermark: true }),
      quietContext(),
      { swapper },
    );
    expect(r.detectedFrames).toBe(1);
    expect(r.faces).toBe(2);
    expect((await readdir(out)).sort()).toEqual(['multi2_obama-biden_fr-two_people.png', 'provenance.json']);
    // The visible watermark sits in the bottom-right corner.
    const src = await sharp(td('faces', 'multi2_obama-biden_fr-two_people.jpg'))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const dst = await sharp(join(out, 'multi2_obama-biden_fr-two_people.png')).raw().toBuffer();
    const { width, height } = src.info;
    let diff = 0;
    for (let y = height - 30; y < height - 10; y++)
      for (let x = width - 200; x < width - 20; x++)
        diff += Math.abs(src.data[(y * width + x) * 3]! - dst[(y * width + x) * 3]!);
    expect(diff / (20 * 180)).toBeGreaterThan(10);
    // Image outputs carry C2PA Content Credentials (signed, bound to the bytes); the sidecar says who signed.
    const cc = await readContentCredentials(
      await readFile(join(out, 'multi2_obama-biden_fr-two_people.png')),
      'image/png',
    );
    expect(cc?.intact, cc?.failures.join(' ')).toBe(true);
    expect(cc!.actions[0]).toMatchObject({ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE });
    const prov = JSON.parse(await readFile(join(out, 'provenance.json'), 'utf8')) as { contentCredentials: unknown };
    expect(prov.contentCredentials).toEqual({ embedded: true, signedBy: r.contentCredentials });
    expect(r.contentCredentials).toMatch(/^CN=Faceswap Studio/);
  });

  it('bad input: one-line errors, and an existing output is left as it was', async () => {
    const out = join(dir, 'keep.mp4');
    await writeFile(out, 'previous output');
    const expectUserError = async (p: Promise<unknown>, re: RegExp) => {
      const e = await p.then(
        () => null,
        (x: unknown) => x,
      );
      expect(isUserError(e)).toBe(true);
      expect((e as Error).message).toMatch(re);
      expect((e as Error).message).not.toMatch(/\n/);
    };
    // Model folder missing; model folder of another trainer (a Python faceswap folder).
    await expectUserError(runConvert(base({ output: out }), quietContext()), /no-model: no such model folder/);
    const foreign = join(dir, 'faceswap-py-model');
    await mkdir(foreign);
    await writeFile(join(foreign, 'original_encoder.h5'), 'x');
    await expectUserError(
      runConvert(base({ output: out, model: foreign }), quietContext()),
      /not a Faceswap Studio model folder/,
    );
    // Alignments of another video.
    const other = join(dir, 'other.alignments.json');
    await writeFile(
      other,
      JSON.stringify({ ...al, source: { ...al.source, path: '/x/personB.mp4', sha256: 'f'.repeat(64) } }),
    );
    await expectUserError(
      runConvert(base({ output: out, alignments: other }), quietContext(), { swapper }),
      /belong to another video/,
    );
    // Unwritable output.
    await expectUserError(
      runConvert(base({ output: join(dir, 'missing-dir', 'o.mp4') }), quietContext(), { swapper }),
      /cannot write here/,
    );
    const ro = join(dir, 'ro');
    await mkdir(ro);
    await chmod(ro, 0o500);
    if (process.getuid?.() !== 0)
      await expectUserError(
        runConvert(base({ output: join(ro, 'o.mp4') }), quietContext(), { swapper }),
        /cannot write here/,
      );
    // Cancelled half way: the previous output stays, no temporary file is left.
    const ac = new AbortController();
    const ctx = {
      ...quietContext(ac.signal),
      progress: (p: { done?: number }) => {
        if ((p.done ?? 0) > 20) ac.abort();
      },
    };
    await expectUserError(runConvert(base({ output: out }), ctx, { swapper }), /cancelled/);
    expect(await readFile(out, 'utf8')).toBe('previous output');
    await new Promise((r) => setTimeout(r, 300));
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});
