/**
 * Short clips made from the shared test videos for tests and benches (written to a scratch folder, never beside the
 * read-only test data). H.264 at crf 18, preset veryfast: near-lossless and quick to write. Engine modules are
 * imported lazily, as in bench/fixtures.ts, so a bench run loads only what it uses.
 */

/** A video writer for `to` with `from`'s frame rate, at `size` (default: `from`'s own). */
async function writerFor(from: string, to: string, size?: [number, number]) {
  const { createVideoWriter } = await import('../../src-main/engine/media/encode');
  const { probeVideo } = await import('../../src-main/engine/media/probe');
  const info = await probeVideo(from);
  const [width, height] = size ?? [info.width, info.height];
  const writer = await createVideoWriter({
    path: to,
    width,
    height,
    fps: info.fpsRational,
    crf: 18,
    preset: 'veryfast',
  });
  return { writer, width, height };
}

/** The first `frames` frames of `from` as a video `to`, scaled to `scale` when given. */
export async function cutClip(from: string, to: string, frames: number, scale?: [number, number]): Promise<void> {
  const { decodeFrames } = await import('../../src-main/engine/media/decode');
  const sharp = (await import('sharp')).default;
  const { writer, width, height } = await writerFor(from, to, scale);
  for await (const f of decodeFrames(from, { end: frames })) {
    const data = scale
      ? await sharp(f.data, { raw: { width: f.width, height: f.height, channels: 3 } })
          .resize(width, height)
          .raw()
          .toBuffer()
      : f.data;
    await writer.write(data);
  }
  await writer.close();
}

/** `from`'s frames `times` times over, one after the other, into `to` (a longer clip of the same content). */
export async function loopClip(from: string, to: string, times: number): Promise<void> {
  const { decodeFrames } = await import('../../src-main/engine/media/decode');
  const { writer } = await writerFor(from, to);
  for (let k = 0; k < times; k++) for await (const f of decodeFrames(from)) await writer.write(f.data);
  await writer.close();
}
