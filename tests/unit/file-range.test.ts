// Byte ranges of the file route (issue 13 bug 2): a <video> can only seek in a file served in ranges.
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src-main/server/server';
import { parseRange, planRangedReply } from '../../src-main/services/file-range';
import { PathGuard } from '../../src-main/services/path-guard';
import { mediaResponse } from '../../src-main/services/user-files';
import { hasTestdata, scratchDir, videos } from '../helpers/testdata';

describe('parseRange', () => {
  it('reads one bytes= range: closed, open-ended, suffix', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange('bytes=990-5000', 1000)).toEqual({ start: 990, end: 999 });
  });
  it('is unsatisfiable past the end or for an empty suffix', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=5000-6000', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
  });
  it('ignores what it does not serve (the whole file is sent)', () => {
    for (const h of [undefined, '', 'bytes=', 'bytes=-', 'items=0-1', 'bytes=0-1,5-6', 'bytes=50-10', 'bytes=a-b']) {
      expect(parseRange(h, 1000), String(h)).toBeUndefined();
    }
  });
  it('plans status and headers', () => {
    const r = planRangedReply('bytes=10-19', 100, 'video/mp4');
    expect(r.status).toBe(206);
    expect(r.headers).toMatchObject({
      'Accept-Ranges': 'bytes',
      'Content-Range': 'bytes 10-19/100',
      'Content-Length': '10',
    });
    expect(planRangedReply(undefined, 100, 'video/mp4')).toMatchObject({
      status: 200,
      headers: { 'Accept-Ranges': 'bytes', 'Content-Length': '100' },
    });
    expect(planRangedReply('bytes=200-', 100, 'video/mp4')).toMatchObject({
      status: 416,
      headers: { 'Content-Range': 'bytes */100' },
    });
  });
});

describe.skipIf(!hasTestdata)('the /file route serves byte ranges of a real video', () => {
  let dir: string;
  let server: RunningServer;
  let clip: string;
  let bytes: Buffer;
  const get = (range?: string) =>
    fetch(`${server.url}file?path=${encodeURIComponent(clip)}`, {
      headers: { authorization: `Bearer ${server.token}`, ...(range ? { range } : {}) },
    });

  beforeAll(async () => {
    dir = await scratchDir('file-range');
    await mkdir(join(dir, 'static'));
    clip = join(dir, 'clip.mp4');
    await copyFile(videos.personA, clip);
    bytes = await readFile(clip);
    server = await startServer({ staticDir: join(dir, 'static'), roots: [dir], port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a whole-file request with Accept-Ranges', async () => {
    const r = await get();
    expect(r.status).toBe(200);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await r.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('answers a range with 206 and exactly those bytes', async () => {
    const start = 1000;
    const end = Math.min(bytes.length - 1, 70_000);
    const r = await get(`bytes=${start}-${end}`);
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.length}`);
    expect(Number(r.headers.get('content-length'))).toBe(end - start + 1);
    expect(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it('serves open-ended and suffix ranges', async () => {
    const from = bytes.length - 12_345;
    const open = await get(`bytes=${from}-`);
    expect(open.status).toBe(206);
    expect(Buffer.from(await open.arrayBuffer()).equals(bytes.subarray(from))).toBe(true);
    const suffix = await get('bytes=-500');
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${bytes.length - 500}-${bytes.length - 1}/${bytes.length}`);
    expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 500))).toBe(true);
  });

  it('answers 416 for a range past the end', async () => {
    const r = await get(`bytes=${bytes.length}-`);
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
  });
});

describe.skipIf(!hasTestdata)("Electron's fss-file: protocol serves the same byte ranges", () => {
  let dir: string;
  let clip: string;
  let bytes: Buffer;
  let guard: PathGuard;
  const get = (range?: string, path = clip) =>
    mediaResponse(
      guard,
      new Request(`fss-file://local/?path=${encodeURIComponent(path)}`, { headers: range ? { range } : {} }),
    );

  beforeAll(async () => {
    dir = await scratchDir('fss-file-range');
    clip = join(dir, 'clip.mp4');
    await copyFile(videos.personA, clip);
    bytes = await readFile(clip);
    guard = await PathGuard.create([dir]);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('206 with the exact bytes, open-ended and suffix ranges, 416, and 404 outside the roots', async () => {
    const r = await get('bytes=100-4099');
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 100-4099/${bytes.length}`);
    expect(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(100, 4100))).toBe(true);
    const open = await get(`bytes=${bytes.length - 7}-`);
    expect(Buffer.from(await open.arrayBuffer()).equals(bytes.subarray(bytes.length - 7))).toBe(true);
    const suffix = await get('bytes=-300');
    expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 300))).toBe(true);
    const whole = await get();
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);
    expect((await get(`bytes=${bytes.length + 1}-`)).status).toBe(416);
    expect((await get(undefined, videos.personB)).status).toBe(404);
  });
});
