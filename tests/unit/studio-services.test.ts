/**
 * The services behind the Studio's issue-13 fixes, on real media: `media:probe` (a source checked when added:
 * a text file named .mp4 is refused in one line naming it; real clips give their exact frame count and rate),
 * small cached thumbnails of faces, editing a project's sources, consent, skipped faces and Convert presets, the
 * faces trash (list, restore, empty) and "show in folder", through the same handlers and schema checks the
 * renderer's requests go through.
 */
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src-main/services/media-check';
import { ensureThumbs, thumbName } from '../../src-main/services/thumbnails';
import { createProject, openProject, updateProject } from '../../src-main/engine/project/project';
import { createServices, dispatch, type Services } from '../../src-main/services/handlers';
import { PathGuard } from '../../src-main/services/path-guard';
import { SettingsStore } from '../../src-main/services/settings';
import { hasTestdata, td, videos } from '../helpers/testdata';
import { groupFaces } from '../../src-renderer/lib/faces';

describe.skipIf(!hasTestdata)('studio services', () => {
  let root: string;
  beforeAll(async () => {
    root = await realpath(await mkdtemp(join(tmpdir(), 'fss-services-')));
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
    expect(await probeMedia(videos.glassesHand)).toMatchObject({
      kind: 'video',
      frameCount: 183,
      fps: 25,
      width: 512,
      height: 512,
    });
    const scene = await probeMedia(videos.sceneCuts);
    expect(scene).toMatchObject({ kind: 'video', frameCount: 275, width: 640, height: 360 });
    expect(scene.fps).toBeCloseTo(30000 / 1001, 3);
    expect(await probeMedia(videos.vertical)).toMatchObject({
      kind: 'video',
      frameCount: 352,
      fps: 30,
      width: 720,
      height: 1280,
    });
    expect(await probeMedia(td('identity', 'liveportrait_personA', 'personA_still.jpg'))).toMatchObject({
      kind: 'image',
      frameCount: 1,
    });
  });

  it('makes 128 px thumbnails once, and again when the face changes', async () => {
    const project = join(root, 'thumbs');
    const faces = join(project, 'faces');
    await mkdir(faces, { recursive: true });
    const face = 'clip_000000_0.png';
    await sharp(td('identity', 'liveportrait_personA', 'personA_still.jpg'))
      .resize(256, 256)
      .png()
      .toFile(join(faces, face));
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
    const p = await createProject({
      dir,
      name: 'edit',
      identities: {
        A: { name: 'Alice', sources: [videos.personA], consent },
        B: { name: 'Bob', sources: [], consent: { agreedBy: 'Bob', note: '' } },
      },
    });
    const q = await updateProject(p, {
      identities: { B: { sources: [videos.personB], consent: { agreedBy: 'Bob B.', note: 'by mail' } } },
      skipInConversion: { A: ['x_000006_0.png'] },
    });
    const onDisk = await openProject(dir);
    expect(onDisk.project).toEqual(q.project);
    expect(onDisk.project.identities.A).toEqual({ name: 'Alice', sources: [videos.personA], consent });
    expect(onDisk.project.identities.B).toMatchObject({
      name: 'Bob',
      sources: [videos.personB],
      consent: { agreedBy: 'Bob B.', note: 'by mail' },
    });
    expect(onDisk.project.skipInConversion).toEqual({ A: ['x_000006_0.png'], B: [] });
    expect(onDisk.project.created).toBe(p.project.created);
    // An empty consent is refused and nothing is written.
    const before = await readFile(join(dir, 'project.json'), 'utf8');
    await expect(
      updateProject(onDisk, { identities: { A: { consent: { agreedBy: ' ', note: '' } } } }),
    ).rejects.toThrow();
    expect(await readFile(join(dir, 'project.json'), 'utf8')).toBe(before);
  });

  describe('faces trash, Convert presets and show-in-folder through the handlers', () => {
    let services: Services;
    let dir: string;
    const call = (channel: string, params: unknown) => dispatch(services.handlers, channel, params);
    const ok = async <T>(channel: string, params: unknown): Promise<T> => {
      const r = await call(channel, params);
      if (!r.ok) throw new Error(`${channel}: ${r.error.message}`);
      return r.result as T;
    };
    const faces = (side: 'A' | 'B') => readdir(join(dir, 'faces', side)).then((n) => n.sort());
    type Batch = { id: string; side: 'A' | 'B'; names: string[]; deleted: number; dir: string };

    beforeAll(async () => {
      dir = join(root, 'trash');
      services = createServices({
        shell: 'browser',
        guard: await PathGuard.create([root]),
        emit: () => undefined,
        settings: new SettingsStore(join(root, 'settings.json')),
      });
      const consent = { agreedBy: 'Alice', note: '' };
      await ok('project:create', {
        dir,
        name: 'trash',
        identities: {
          A: { name: 'Alice', sources: [], consent },
          B: { name: 'Bob', sources: [], consent: { agreedBy: 'Bob', note: '' } },
        },
      });
      const png = await sharp(td('identity', 'liveportrait_personA', 'personA_still.jpg'))
        .resize(64, 64)
        .png()
        .toBuffer();
      for (let i = 0; i < 5; i++)
        await writeFile(join(dir, 'faces', 'A', `a_${String(i).padStart(6, '0')}_0.png`), png);
      await writeFile(join(dir, 'faces', 'B', 'b_000000_0.png'), png);
    });
    afterAll(async () => {
      await services.close();
    });

    it('lists deleted batches newest first, restores one, refuses to overwrite a face made since', async () => {
      expect(await ok('faces:trash:list', {})).toEqual({ batches: [] });
      const first = await ok<{ batchId: string }>('faces:delete', {
        side: 'A',
        names: ['a_000000_0.png', 'a_000001_0.png'],
      });
      await new Promise((r) => setTimeout(r, 5)); // distinct deletion times
      const second = await ok<{ batchId: string }>('faces:delete', { side: 'B', names: ['b_000000_0.png'] });
      const { batches } = await ok<{ batches: Batch[] }>('faces:trash:list', {});
      expect(batches.map((b) => [b.id, b.side, b.names])).toEqual([
        [second.batchId, 'B', ['b_000000_0.png']],
        [first.batchId, 'A', ['a_000000_0.png', 'a_000001_0.png']],
      ]);
      expect(await readdir(batches[1]?.dir as string)).toEqual(['a_000000_0.png', 'a_000001_0.png']);
      expect(Math.abs((batches[0]?.deleted ?? 0) - Date.now())).toBeLessThan(60_000);

      expect(await ok('faces:trash:restore', { batchId: first.batchId })).toEqual({
        side: 'A',
        names: ['a_000000_0.png', 'a_000001_0.png'],
        remaining: 5,
      });
      expect(await faces('A')).toHaveLength(5);
      // A face of the same name made again since it was deleted is never overwritten by a restore.
      await writeFile(join(dir, 'faces', 'B', 'b_000000_0.png'), 'newer face');
      const clash = await call('faces:trash:restore', { batchId: second.batchId });
      expect(clash).toMatchObject({ ok: false, error: { code: 'bad-file' } });
      expect(await readFile(join(dir, 'faces', 'B', 'b_000000_0.png'), 'utf8')).toBe('newer face');
      expect((await ok<{ batches: Batch[] }>('faces:trash:list', {})).batches.map((b) => b.id)).toEqual([
        second.batchId,
      ]);
      // Bad ids are refused by the schema before any handler runs; unknown ones name the folder.
      expect(await call('faces:trash:restore', { batchId: '../faces' })).toMatchObject({
        ok: false,
        error: { code: 'bad-request' },
      });
      expect(await call('faces:trash:restore', { batchId: '1-nope' })).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
    });

    it('empties chosen batches or all of them; an unknown id deletes nothing', async () => {
      const a = await ok<{ batchId: string }>('faces:delete', { side: 'A', names: ['a_000004_0.png'] });
      const before = (await ok<{ batches: Batch[] }>('faces:trash:list', {})).batches;
      expect(before).toHaveLength(2);
      expect(await call('faces:trash:empty', { batchIds: [a.batchId, '1-missing'] })).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
      expect((await ok<{ batches: Batch[] }>('faces:trash:list', {})).batches).toHaveLength(2);
      expect(await ok('faces:trash:empty', { batchIds: [a.batchId] })).toEqual({ batches: 1, faces: 1 });
      expect((await ok<{ batches: Batch[] }>('faces:trash:list', {})).batches).toHaveLength(1);
      expect(await ok('faces:trash:empty', {})).toEqual({ batches: 1, faces: 1 });
      expect(await readdir(join(dir, 'trash'))).toEqual([]);
      expect(await faces('A')).toHaveLength(4); // the faces in use are untouched
    });

    it('saves named Convert presets in the project; a blank name is refused', async () => {
      const presets = { soft: { blend: 'poisson', erode: 4 }, phone: { crf: 28 } };
      await ok('project:update', { convertPresets: presets });
      expect((await openProject(dir)).project.convertPresets).toEqual(presets);
      await ok('project:update', { convertPresets: { phone: { crf: 28 } } });
      expect((await openProject(dir)).project.convertPresets).toEqual({ phone: { crf: 28 } });
      expect(await call('project:update', { convertPresets: { ' ': {} } })).toMatchObject({
        ok: false,
        error: { code: 'bad-request' },
      });
    });

    it('show-in-folder: the folder in browser mode, the Electron callback with the checked path, nothing outside the roots', async () => {
      const file = join(dir, 'project.json');
      expect(await ok('shell:show-in-folder', { path: file })).toEqual({ shown: false, dir });
      const shown: string[] = [];
      const electron = createServices({
        shell: 'electron',
        guard: await PathGuard.create([root]),
        emit: () => undefined,
        settings: new SettingsStore(join(root, 'settings.json')),
        showInFolder: (p) => shown.push(p),
      });
      try {
        expect(await dispatch(electron.handlers, 'shell:show-in-folder', { path: file })).toEqual({
          ok: true,
          result: { shown: true, dir },
        });
        expect(await dispatch(electron.handlers, 'shell:show-in-folder', { path: '/etc/passwd' })).toMatchObject({
          ok: false,
        });
        expect(await dispatch(electron.handlers, 'shell:show-in-folder', { path: 'relative' })).toMatchObject({
          ok: false,
        });
        expect(shown).toEqual([file]);
      } finally {
        await electron.close();
      }
    });
  });
});

describe('Faces view grouping', () => {
  it('puts yaws in left / 3/4 left / frontal / 3/4 right / right bins (edges inclusive towards frontal), the rest in "Not measured"', () => {
    // Edges of the bins, and the yaws measured on the pose test photos (profile-left -57, three-quarter-right +51).
    const yaws: Record<string, number> = { a: -57, b: -45, c: -15.01, d: -15, e: 0, f: 15, g: 15.01, h: 45, i: 51 };
    const meta = Object.fromEntries(Object.entries(yaws).map(([n, yaw]) => [n, { yaw }]));
    const groups = groupFaces([...Object.keys(yaws), 'z'], 'pose', meta);
    expect(groups.map((g) => [g.label, g.names])).toEqual([
      ['Left', ['a']],
      ['3/4 left', ['b', 'c']],
      ['Frontal', ['d', 'e', 'f']],
      ['3/4 right', ['g', 'h']],
      ['Right', ['i']],
      ['Not measured', ['z']],
    ]);
  });

  it('groups by similarity to the reference faces around the default threshold 0.5; none measured is one group', () => {
    const meta = { a: { identity: 0.9 }, b: { identity: 0.7 }, c: { identity: 0.5 }, d: { identity: 0.49 }, e: {} };
    expect(groupFaces(['a', 'b', 'c', 'd', 'e'], 'identity', meta).map((g) => [g.key, g.names])).toEqual([
      ['close', ['a', 'b']],
      ['match', ['c']],
      ['far', ['d']],
      ['none', ['e']],
    ]);
    expect(groupFaces(['x', 'y'], 'identity', {}).map((g) => g.key)).toEqual(['none']);
    expect(groupFaces(['x', 'y'], 'none', undefined)).toEqual([
      { key: 'all', label: 'All', help: 'all faces', names: ['x', 'y'] },
    ]);
  });
});
