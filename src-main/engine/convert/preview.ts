/**
 * Single-frame preview with the convert options (the GUI's convert tuning). A previewer keeps the model, the
 * alignments and the last frame with its model output, so changing a blend option (mask, blur, erosion, colour,
 * seamless, sharpen) only re-blends: no decode and no model run.
 */
import { resolve } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import type { Alignments } from '../../../src-shared/formats/alignments';
import { parseOptions } from '../../../src-shared/options';
import { convertOptions, maskIncludes, parseMaskSpec, type ConvertOptions } from '../../../src-shared/stages/convert';
import { openKeyedSource, type KeyedSource } from '../media/source';
import type { RgbImage } from '../face/types';
import type { ModelFace } from './blend';
import {
  checkAlignmentsSource,
  createFaceProvider,
  createIdentityFilter,
  defaultAlignmentsPath,
  readAlignmentsFile,
  type FaceProvider,
} from './faces';
import { blendFaces, swapFaces } from './frame';
import { backendOf, loadSwapper, swapDirection } from './model-swapper';
import { createWatermark } from './output';
import { blendOptionsOf } from './run';
import type { FaceSwapper } from './swapper';

export interface PreviewResult {
  width: number;
  height: number;
  /** RGB24 of the converted frame. */
  data: Buffer;
  /** PNG of the same, when asked for. */
  png?: Buffer;
  /** Faces swapped in this frame. */
  faces: number;
  /** Milliseconds spent: total, and whether the model ran (false: re-blend of a cached model output). */
  ms: number;
  modelRan: boolean;
}

export interface Previewer {
  /** Converts frame `index` (video frame index, or position in a photo folder) with `options` (blend and output fields may change between calls; input, model, alignments, faces folder and filters are those of createPreviewer). */
  /** `view: 'mask'` shows where the new face goes: the blend's final opacity, white over the dimmed frame. */
  preview(
    index: number,
    options?: Partial<ConvertOptions>,
    opts?: { png?: boolean; view?: 'swapped' | 'mask' },
  ): Promise<PreviewResult>;
  dispose(): void;
}

export async function createPreviewer(
  raw: Partial<ConvertOptions> & Pick<ConvertOptions, 'input' | 'model'>,
  hooks: { swapper?: FaceSwapper; signal?: AbortSignal } = {},
): Promise<Previewer> {
  const base = parseOptions(convertOptions, { output: 'preview.png', ...raw });
  const signal = hooks.signal ?? new AbortController().signal;
  const input = resolve(base.input);
  const source: KeyedSource = await openKeyedSource(input, signal);
  let alignments: Alignments | null = null;
  const alPath = base.alignments ? resolve(base.alignments) : defaultAlignmentsPath(input, source.kind === 'folder');
  try {
    alignments = await readAlignmentsFile(alPath);
  } catch (e) {
    if (base.alignments) throw e;
  }
  if (alignments) checkAlignmentsSource(alignments, alPath, { path: input, sha256: await source.sha256() });
  const swapper =
    hooks.swapper ??
    (await loadSwapper(resolve(base.model), { direction: swapDirection(base.swapModel), backend: base.backend }));
  const identity =
    base.filter.length || base.nfilter.length
      ? await createIdentityFilter({
          filter: base.filter,
          nfilter: base.nfilter,
          threshold: base.filterThreshold,
          ...backendOf(swapper),
        })
      : undefined;
  // The faces come with what the mask needs (hands, mask PNGs: convert/occlusion.ts); a mask that needs other
  // inputs than the last one gets a provider of its own and runs the model again.
  const providerFor = (mask: string) =>
    createFaceProvider({
      ...backendOf(swapper),
      alignments,
      kind: source.kind,
      ...(base.facesDir ? { facesDir: resolve(base.facesDir) } : {}),
      ...(identity ? { identity } : {}),
      mask,
    });
  const needsOf = (mask: string) => {
    const spec = parseMaskSpec(mask);
    return `${spec.hands}:${spec.regions.filter((r) => r === 'segment' || r === 'painted').join('+')}`;
  };
  let faces: FaceProvider = await providerFor(base.mask);
  let facesNeed = needsOf(base.mask);
  let cached: { index: number; image: RgbImage; swapped: ModelFace[] } | null = null;

  async function frameAt(index: number): Promise<{ image: RgbImage; key: string; stem: string }> {
    if (source.kind === 'video') {
      if (!Number.isInteger(index) || index < 0 || index >= source.total)
        throw new UserError('bad-option', `preview: frame ${index} is outside 0..${source.total - 1}`);
      for await (const f of source.frames({ start: index, every: 1, signal }))
        return { image: f.image, key: f.key, stem: f.stem };
    } else {
      let i = 0;
      for await (const f of source.frames({ start: 0, every: 1, signal }))
        if (i++ === index) return { image: f.image, key: f.key, stem: f.stem };
    }
    throw new UserError('bad-option', `preview: no frame ${index} in ${base.input}`);
  }

  return {
    async preview(index, options = {}, opts = {}) {
      const t0 = performance.now();
      const o = parseOptions(convertOptions, { ...base, ...options });
      if (maskIncludes(o.mask, 'predicted') && !swapper.hasMask)
        throw new UserError('bad-option', `--mask ${o.mask}: the ${swapper.trainer} model does not learn a mask`);
      let modelRan = false;
      if (needsOf(o.mask) !== facesNeed) {
        faces.dispose();
        faces = await providerFor(o.mask);
        facesNeed = needsOf(o.mask);
        cached = null;
      }
      if (!cached || cached.index !== index) {
        const f = await frameAt(index);
        const found = await faces.facesFor(f.key, f.stem, index, f.image);
        cached = { index, image: f.image, swapped: await swapFaces(f.image, found.faces, swapper) };
        modelRan = true;
      }
      const out = blendFaces(cached.image, cached.swapped, blendOptionsOf(o));
      const { width, height } = cached.image;
      if (opts.view === 'mask') maskView(cached.image, out);
      else if (o.watermark) (await createWatermark(width, height))(out.data);
      const res: PreviewResult = {
        width,
        height,
        data: out.data,
        faces: out.faces.filter(Boolean).length,
        ms: 0,
        modelRan,
      };
      if (opts.png)
        res.png = await sharp(out.data, { raw: { width, height, channels: 3 } })
          .png({ compressionLevel: 1 })
          .toBuffer();
      res.ms = performance.now() - t0;
      return res;
    },
    dispose() {
      faces.dispose();
      if (!hooks.swapper) swapper.dispose();
      cached = null;
    },
  };
}

/** Replaces a blended frame by its mask view: the original at a quarter brightness, each face's opacity in white. */
function maskView(frame: RgbImage, out: ReturnType<typeof blendFaces>): void {
  const d = out.data;
  for (let i = 0; i < d.length; i++) d[i] = frame.data[i]! >> 2;
  for (const f of out.faces) {
    if (!f) continue;
    const { roi, alpha } = f;
    for (let y = 0; y < roi.h; y++) {
      for (let x = 0; x < roi.w; x++) {
        const a = alpha[y * roi.w + x]!;
        if (a <= 0) continue;
        const o = ((roi.y + y) * frame.width + roi.x + x) * 3;
        for (let c = 0; c < 3; c++) d[o + c] = Math.round(d[o + c]! + a * (255 - d[o + c]!));
      }
    }
  }
}
