/**
 * The services behind the Studio's issue-13 fixes, on real media: `media:probe` (a source checked when added:
 * a text file named .mp4 is refused in one line naming it; real clips give their exact frame count and rate),
 * small cached thumbnails of faces, and editing a project's sources, consent and skipped faces.
 */
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src-main/services/media-check';
import { ensureThumbs, thumbName } from '../../src-main/services/thumbnails';
import { createProject, openProject, updateProject } from '../../src-main/engine/project/project';
import { hasTestdata, td, videos } from '../helpers/testdata';

describe.skipIf(!hasTestdata)('studio services', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'fss-services-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('media:probe refuses a text file named .mp4 with one line naming it', async () => {
    const fake = join(root, 'notes.mp4');
    await writeFile(fake, 'not a video\n');
    const e = await probeMedia(fake).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toContain(fake);
    expect((e as Error).message.split('\n')).toHaveLength(1);
    await expect(probeMedia(join(root, 'missing.mp4'))).rejects.toThrow(/no such file/);
  });

  it('media:probe gives the exact frame count and rate of 25, 29.97 and 30 fps clips, and photo sizes', async () => {
    expect(await probeMedia(videos.glassesHand)).toMatchObject({ kind: 'video', frameCount: 183, fps: 25, width: 512, height: 512 });
    const scene = await probeMedia(videos.sceneCuts);
    expect(scene).toMatchObject({ kind: 'video', frameCount: 275, width: 640, height: 360 });
    expect(scene.fps).toBeCloseTo(30000 / 1001, 3);
    expect(await probeMedia(videos.vertical)).toMatchObject({ kind: 'video', frameCount: 352, fps: 30, width: 720, height: 1280 });
    expect(await probeMedia(td('identity', 'liveportrait_personA', 'personA_still.jpg'))).toMatchObject({ kind: 'image', frameCount: 1 });
  });

  it('makes 128 px thumbnails once, and again when the face changes', async () => {
    const project = join(root, 'thumbs');
    const faces = join(project, 'faces');
    await mkdir(faces, { recursive: true });
    const face = 'clip_000000_0.png';
    await sharp(td('identity', 'liveportrait_personA', 'personA_still.jpg')).resize(256, 256).png().toFile(join(faces, face));
    const dir = await ensureThumbs(project, 'A', faces, [face, 'gone_000001_0.png']);
    const thumb = join(dir, thumbName(face));
    const meta = await sharp(thumb).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([128, 128, 'jpeg']);
    expect((await stat(thumb)).size).toBeLessThan((await stat(join(faces, face))).size / 3);
    const first = (await stat(thumb)).mtimeMs;
    await ensureThumbs(project, 'A', faces, [face]);
    expect((await stat(thumb)).mtimeMs).toBe(first); // cached
    const later = new Date(Date.now() + 5000);
    await utimes(join(faces, face), later, later);
    await ensureThumbs(project, 'A', faces, [face]);
    expect((await stat(thumb)).mtimeMs).toBeGreaterThan(first); // remade for a newer face
  });

  it('edits sources, consent and skipped faces, keeping the rest of project.json', async () => {
    const dir = join(root, 'edit');
    const consent = { agreedBy: 'Alice', note: 'release form' };
    const p = await createProject({ dir, name: 'edit', identities: { A: { name: 'Alice', sources: [videos.personA], consent }, B: { name: 'Bob', sources: [], consent: { agreedBy: 'Bob', note: '' } } } });
    const q = await updateProject(p, { identities: { B: { sources: [videos.personB], consent: { agreedBy: 'Bob B.', note: 'by mail' } } }, skipInConversion: { A: ['x_000006_0.png'] } });
    const onDisk = await openProject(dir);
    expect(onDisk.project).toEqual(q.project);
    expect(onDisk.project.identities.A).toEqual({ name: 'Alice', sources: [videos.personA], consent });
    expect(onDisk.project.identities.B).toMatchObject({ name: 'Bob', sources: [videos.personB], consent: { agreedBy: 'Bob B.', note: 'by mail' } });
    expect(onDisk.project.skipInConversion).toEqual({ A: ['x_000006_0.png'], B: [] });
    expect(onDisk.project.created).toBe(p.project.created);
    // An empty consent is refused and nothing is written.
    const before = await readFile(join(dir, 'project.json'), 'utf8');
    await expect(updateProject(onDisk, { identities: { A: { consent: { agreedBy: ' ', note: '' } } } })).rejects.toThrow();
    expect(await readFile(join(dir, 'project.json'), 'utf8')).toBe(before);
  });
});
