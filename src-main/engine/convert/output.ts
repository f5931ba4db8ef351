/**
 * Where converted frames go: an H.264 video (media module's writer, audio from the input, label tags) or a
 * folder of PNGs. Either is finished under a hidden temporary name beside the output (`.<name>.<pid>-<hex>.*`),
 * signed and given its provenance there, then put in place by commitOutput in an order that never leaves a
 * provenance file that describes another output (docs/reliability.md); sweepConvertLeftovers finishes or
 * removes what a killed run left. An existing output is never replaced by a half-done one.
 * Also: the synthetic-media label (container tags + provenance sidecar) and the optional visible watermark.
 */
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../../src-shared/errors';
import { appName, appVersion } from '../app-info';
import { createVideoWriter, sharedCoresX264Threads, type X264Preset } from '../media/encode';
import { sha256File } from '../media/fs';
import { fsyncDir, processStart, userFacing, writeFileAtomicSafe, writerGone } from '../util/atomic-write';
import { faultPoint } from '../util/faults';
import { provenancePath } from './provenance';

export const VIDEO_OUT = /\.(mp4|m4v|mov|mkv)$/i;

export interface FrameSink {
  write(frame: Buffer, name: string): Promise<void>;
  /** Completes the output under its temporary name and returns that path; commitOutput puts it in place. */
  finish(): Promise<string>;
  /** Removes the temporary output (also after finish). */
  abort(): Promise<void>;
  readonly written: number;
}

/** A hidden name beside `output` for work in progress: `.<name>.<pid>-<hex>.<tag>` (the sweep knows it). */
export function convertTempPath(output: string, tag: string): string {
  return join(dirname(output), `.${basename(output)}.${process.pid}-${randomBytes(4).toString('hex')}.${tag}`);
}

/** Fails early (before any work) with a one-line 'unwritable' error when the output cannot be written. */
export async function checkOutputWritable(output: string, input: string): Promise<void> {
  if (resolve(output) === resolve(input))
    throw new UserError('unwritable', `${output}: the output must not be the input`, output);
  const parent = dirname(resolve(output));
  try {
    if (!(await stat(parent)).isDirectory()) throw new Error('not a folder');
    await access(parent, constants.W_OK);
  } catch {
    throw new UserError('unwritable', `${output}: cannot write here (${parent} is missing or not writable)`, output);
  }
  try {
    const st = await stat(output);
    if (VIDEO_OUT.test(output) && st.isDirectory())
      throw new UserError('unwritable', `${output}: is a folder, expected a video file name`, output);
    if (!VIDEO_OUT.test(output) && !st.isDirectory())
      throw new UserError(
        'unwritable',
        `${output}: exists and is not a folder (use .mp4, .mov or .mkv for a video)`,
        output,
      );
    await access(output, constants.W_OK);
  } catch (e) {
    if (e instanceof UserError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new UserError('unwritable', `${output}: exists and cannot be replaced`, output);
  }
}

export interface LabelInfo {
  date: string;
  model: string;
  trainer: string;
}

/** Container tags that label the output as synthetic media. */
export function labelMetadata(l: LabelInfo): Record<string, string> {
  const text = `Synthetic media: faces replaced by ${appName} ${appVersion} on ${l.date}`;
  return {
    comment: text,
    description: `${text} (model: ${l.trainer}). See the .provenance.json sidecar.`,
    synthetic_media: 'true',
    generator: `${appName} ${appVersion}`,
    creation_time: l.date,
  };
}

export interface VideoSinkOptions {
  path: string;
  width: number;
  height: number;
  fps: string;
  crf: number;
  preset: X264Preset;
  audioFrom?: string;
  audioOffsetSec?: number;
  metadata?: Record<string, string>;
  signal: AbortSignal;
  onWarning(message: string): void;
}

/** Video output through the media writer (audio added once the duration is known), finished under a temp name. */
export async function videoSink(o: VideoSinkOptions): Promise<FrameSink> {
  // The extension stays last: the container and the Content Credentials format follow it.
  const tmp = convertTempPath(o.path, `new${extname(o.path)}`);
  const w = await createVideoWriter({
    path: tmp,
    width: o.width,
    height: o.height,
    fps: o.fps,
    crf: o.crf,
    preset: o.preset,
    threads: sharedCoresX264Threads(),
    signal: o.signal,
    onWarning: o.onWarning,
    ...(o.audioFrom ? { audioFrom: o.audioFrom, audioOffsetSec: o.audioOffsetSec ?? 0 } : {}),
    ...(o.metadata ? { metadata: o.metadata } : {}),
  });
  return {
    write: (frame) => w.write(frame),
    async finish() {
      await w.close();
      return tmp;
    },
    async abort() {
      await w.abort();
      await rm(tmp, { force: true });
    },
    get written() {
      return w.framesWritten;
    },
  };
}

/**
 * PNG frames into `<dir>` via a hidden temporary sibling folder; `sign` embeds Content Credentials in each PNG
 * (content-credentials.ts).
 */
export async function folderSink(
  dir: string,
  width: number,
  height: number,
  sign?: (png: Buffer) => Promise<Uint8Array>,
): Promise<FrameSink> {
  const out = resolve(dir);
  const tmp = convertTempPath(out, 'dir');
  await mkdir(tmp, { recursive: true });
  let written = 0;
  return {
    async write(frame, name) {
      const png = await sharp(frame, { raw: { width, height, channels: 3 } })
        .png({ compressionLevel: 3 })
        .toBuffer();
      // Not fsynced one by one (the folder is fsynced when it is committed); checked like every write.
      await writeFileAtomicSafe(join(tmp, name), sign ? await sign(png) : png, { fsync: false });
      written++;
    },
    finish: () => Promise.resolve(tmp),
    async abort() {
      await rm(tmp, { recursive: true, force: true });
    },
    get written() {
      return written;
    },
  };
}

/**
 * Puts a finished output in place. A folder (its provenance.json already inside): the old folder is moved
 * aside, the new one renamed in, the old one removed. A video with its provenance written to `pending`
 * (provenance.ts) beside it: the old sidecar and quality report are moved aside, the video renamed in, then
 * the sidecar; so at every instant the sidecar present, if any, describes the video present. A kill leaves
 * what sweepConvertLeftovers repairs.
 */
export async function commitOutput(o: {
  output: string;
  finished: string;
  isFolder: boolean;
  pending?: string;
}): Promise<void> {
  const { output, finished } = o;
  const dir = dirname(output);
  try {
    if (o.isFolder) {
      await fsyncDir(finished);
      const old = convertTempPath(output, 'old');
      const hadOld = await rename(output, old).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return false;
          throw e;
        },
      );
      faultPoint('convert:old-aside');
      await rename(finished, output);
      await fsyncDir(dir);
      faultPoint('convert:output');
      if (hadOld) await rm(old, { recursive: true, force: true });
      return;
    }
    const sidecar = provenancePath(output, false);
    const aside: string[] = [];
    for (const f of [sidecar, `${output}.quality.json`]) {
      const to = convertTempPath(output, basename(f).slice(basename(output).length + 1));
      if (
        await rename(f, to).then(
          () => true,
          () => false,
        )
      )
        aside.push(to);
    }
    faultPoint('convert:old-aside');
    await rename(finished, output);
    await fsyncDir(dir);
    faultPoint('convert:output');
    if (o.pending) {
      await rename(o.pending, sidecar);
      await fsyncDir(dir);
      faultPoint('convert:provenance');
    }
    for (const f of aside) await rm(f, { force: true });
  } catch (e) {
    const err = userFacing(e, output);
    throw err instanceof UserError
      ? err
      : new UserError('unwritable', `${output}: cannot put the output in place (${(e as Error).message})`, output);
  }
}

/**
 * What killed conversions to `output` left beside it (only `.<name>.<pid>-<hex>.*` names of processes that are
 * gone, and of this pid when older than this process): a committed video's sidecar still under its pending or
 * aside name goes (back) in place when its hash matches the video there; an old folder moved aside goes back
 * when the output folder is missing; everything else is removed. Returns the names removed or restored.
 */
export async function sweepConvertLeftovers(output: string): Promise<string[]> {
  const dir = dirname(output);
  const base = basename(output);
  const esc = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // Ours, the media writer's (`..<name>.<pid>-<hex>.new.mp4.<pid>-<hex>.part`) and earlier versions' folder temps.
  const re = new RegExp(`^\\.\\.?${esc}\\.(?:tmp-)?(\\d+)-[0-9a-z]+\\.?(.*)$`);
  const done: string[] = [];
  const names = await readdir(dir).catch(() => null);
  if (!names) return done;
  const stale: Array<{ name: string; tag: string }> = [];
  for (const name of names) {
    const m = re.exec(name);
    if (!m || !writerGone(Number(m[1]))) continue;
    const st = await stat(join(dir, name)).catch(() => null);
    if (st && st.mtimeMs < processStart) stale.push({ name, tag: m[2] ?? '' });
  }
  const exists = (p: string) =>
    stat(p).then(
      () => true,
      () => false,
    );
  const sidecar = provenancePath(output, false);
  if (!(await exists(sidecar)) && (await exists(output)) && VIDEO_OUT.test(output)) {
    const sha = await sha256File(output).catch(() => '');
    for (const s of stale.filter((x) => x.tag === 'provenance.json')) {
      const doc = await readFile(join(dir, s.name), 'utf8')
        .then((t) => JSON.parse(t) as { output?: { sha256?: string } })
        .catch(() => null);
      if (sha && doc?.output?.sha256 === sha) {
        await rename(join(dir, s.name), sidecar);
        done.push(`${s.name} -> ${basename(sidecar)}`);
        break;
      }
    }
  }
  if (!(await exists(output))) {
    const old = stale.find((x) => x.tag === 'old' || x.name.endsWith('.old'));
    if (old && (await stat(join(dir, old.name))).isDirectory()) {
      await rename(join(dir, old.name), output);
      done.push(`${old.name} -> ${base}`);
    }
  }
  for (const s of stale) {
    if (done.some((d) => d.startsWith(`${s.name} -> `))) continue;
    await rm(join(dir, s.name), { recursive: true, force: true });
    done.push(s.name);
  }
  return done;
}

/**
 * A visible "SYNTHETIC MEDIA" mark for the bottom-right corner: rendered once (sharp/librsvg) as premultiplied
 * RGBA, then alpha-blended into each frame.
 */
export async function createWatermark(width: number, height: number): Promise<(frame: Buffer) => void> {
  const h = Math.max(12, Math.round(Math.min(width, height) * 0.045));
  const w = Math.round(h * 7.5);
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" rx="${h / 5}" fill="black" fill-opacity="0.45"/><text x="50%" y="72%" font-family="sans-serif" font-weight="bold" font-size="${h * 0.62}" fill="white" text-anchor="middle">SYNTHETIC MEDIA</text></svg>`;
  const { data } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const mw = Math.min(w, width),
    mh = Math.min(h, height);
  const x0 = width - mw - Math.round(h / 3) > 0 ? width - mw - Math.round(h / 3) : 0;
  const y0 = height - mh - Math.round(h / 3) > 0 ? height - mh - Math.round(h / 3) : 0;
  return (frame) => {
    for (let y = 0; y < mh; y++) {
      for (let x = 0; x < mw; x++) {
        const s = (y * w + x) * 4,
          a = data[s + 3]! / 255;
        if (a === 0) continue;
        const d = ((y0 + y) * width + x0 + x) * 3;
        for (let c = 0; c < 3; c++) frame[d + c] = Math.round(frame[d + c]! * (1 - a) + data[s + c]! * a);
      }
    }
  };
}
