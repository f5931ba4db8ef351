import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { createProject, deleteFaces, listFaces, openProject, undoDelete } from '../../src-main/engine/project/project';

let dir: string;
const identities = {
  A: { name: 'Person A', sources: [], consent: { agreedBy: 'Person A', note: 'signed release 2026-11-01' } },
  B: { name: 'Person B', sources: [], consent: { agreedBy: 'Person B', note: '' } },
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fss-project-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('projects', () => {
  it('creates the folder layout and reopens the validated project', async () => {
    await createProject({ dir, name: 'Demo', identities });
    expect((await readdir(dir)).sort()).toEqual(['alignments', 'faces', 'model', 'output', 'project.json', 'trash']);
    const p = await openProject(dir);
    expect(p.project.identities.A.consent.note).toBe('signed release 2026-11-01');
    await expect(createProject({ dir, name: 'Again', identities })).rejects.toThrow(/already exists/);
  });

  it('refuses a project.json that does not validate, naming the file and the field', async () => {
    await createProject({ dir, name: 'Demo', identities });
    const file = join(dir, 'project.json');
    const raw = JSON.parse(await readFile(file, 'utf8'));
    delete raw.identities.B.consent;
    await writeFile(file, JSON.stringify(raw));
    const err = await openProject(dir).catch((e: unknown) => e);
    expect(isUserError(err)).toBe(true);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toContain('identities.B.consent');
    await writeFile(file, '{ not json');
    await expect(openProject(dir)).rejects.toThrow(/not valid JSON/);
    await expect(openProject(join(dir, 'nope'))).rejects.toThrow(/no project here/);
  });

  it('deletes faces to the trash and undoes it', async () => {
    await createProject({ dir, name: 'Demo', identities });
    for (const n of ['a_000010_0.png', 'a_000002_0.png', 'a_000001_0.png', 'a_000003_1.png'])
      await writeFile(join(dir, 'faces', 'A', n), n);
    expect(await listFaces(dir, 'A')).toEqual(['a_000001_0.png', 'a_000002_0.png', 'a_000003_1.png', 'a_000010_0.png']);
    const batch = await deleteFaces(dir, 'A', ['a_000002_0.png', 'a_000010_0.png']);
    expect(await listFaces(dir, 'A')).toEqual(['a_000001_0.png', 'a_000003_1.png']);
    expect(await readFile(join(dir, 'trash', batch.id, 'A', 'a_000010_0.png'), 'utf8')).toBe('a_000010_0.png');
    await expect(deleteFaces(dir, 'A', ['../project.json'])).rejects.toThrow(/no such face/);
    await expect(deleteFaces(dir, 'A', ['a_000002_0.png'])).rejects.toThrow(/no such face/);
    await undoDelete(dir, batch.id);
    expect(await listFaces(dir, 'A')).toHaveLength(4);
    expect(await readdir(join(dir, 'trash'))).toEqual([]);
  });
});
