/**
 * Projects on disk: create, open (validated against the shared schema), save atomically, and the faces of each
 * identity with delete-to-trash and undo. A deleted face is moved, never destroyed, so nothing the user made is
 * lost; training and conversion simply no longer see it.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserError } from '../../../src-shared/errors';
import { isMaskFile } from '../../../src-shared/formats/face-masks';
import { isImageFile } from '../../../src-shared/files';
import {
  PROJECT_FILE,
  PROJECT_VERSION,
  projectFolders,
  projectSchema,
  type Consent,
  type NewProject,
  type Project,
  type Side,
} from '../../../src-shared/formats/project';
import { writeJsonAtomic } from '../util/atomic-write';

export interface OpenProject {
  dir: string;
  project: Project;
}

export async function createProject(p: NewProject): Promise<OpenProject> {
  const file = join(p.dir, PROJECT_FILE);
  if (await exists(file))
    throw new UserError('bad-file', `${file}: a project already exists here; open it instead`, file);
  const project: Project = projectSchema.parse({
    version: PROJECT_VERSION,
    name: p.name,
    created: new Date().toISOString(),
    identities: p.identities,
  });
  for (const sub of [
    projectFolders.faces('A'),
    projectFolders.faces('B'),
    projectFolders.alignments,
    projectFolders.model,
    projectFolders.trash,
    projectFolders.output,
  ]) {
    await mkdir(join(p.dir, sub), { recursive: true });
  }
  await writeJsonAtomic(file, project);
  return { dir: p.dir, project };
}

export async function openProject(dir: string): Promise<OpenProject> {
  const file = join(dir, PROJECT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError('not-found', `${file}: no project here (project.json not found)`, file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError('bad-file', `${file}: not valid JSON (${(e as Error).message})`, file);
  }
  const r = projectSchema.safeParse(raw);
  if (!r.success) {
    const detail = r.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ');
    throw new UserError('bad-file', `${file}: not a valid project (${detail})`, file);
  }
  return { dir, project: r.data };
}

async function saveProject(p: OpenProject): Promise<void> {
  await writeJsonAtomic(join(p.dir, PROJECT_FILE), projectSchema.parse(p.project), { backup: true });
}

/** What `updateProject` may change; the rest of project.json is kept as it is. */
export interface ProjectEdit {
  identities?: Partial<Record<Side, { sources?: string[]; consent?: Consent }>>;
  skipInConversion?: Partial<Record<Side, string[]>>;
  convertSettings?: Record<string, unknown>;
  /** The Convert view's named presets, all of them (a preset is removed by leaving it out). */
  convertPresets?: Record<string, Record<string, unknown>>;
}

/** Applies an edit to an open project and saves it (atomically, with the previous file kept as a backup). */
export async function updateProject(p: OpenProject, edit: ProjectEdit): Promise<OpenProject> {
  const cur = p.project;
  const identities = { ...cur.identities };
  for (const side of ['A', 'B'] as const) {
    const e = edit.identities?.[side];
    if (e)
      identities[side] = {
        ...identities[side],
        ...(e.sources ? { sources: e.sources } : {}),
        ...(e.consent ? { consent: e.consent } : {}),
      };
  }
  const skip = edit.skipInConversion
    ? { A: cur.skipInConversion?.A ?? [], B: cur.skipInConversion?.B ?? [], ...edit.skipInConversion }
    : cur.skipInConversion;
  const project = projectSchema.parse({
    ...cur,
    identities,
    ...(skip ? { skipInConversion: skip } : {}),
    ...(edit.convertSettings ? { convertSettings: edit.convertSettings } : {}),
    ...(edit.convertPresets ? { convertPresets: edit.convertPresets } : {}),
  });
  const next = { dir: p.dir, project };
  await saveProject(next);
  return next;
}

export function facesDir(dir: string, side: Side): string {
  return join(dir, projectFolders.faces(side));
}

const collator = new Intl.Collator(undefined, { numeric: true });

/** The aligned face files of one identity, in natural order. */
export async function listFaces(dir: string, side: Side): Promise<string[]> {
  const names = await readdir(facesDir(dir, side)).catch(() => [] as string[]);
  return names.filter((n) => isImageFile(n) && !isMaskFile(n)).sort(collator.compare);
}

export interface TrashBatch {
  id: string;
  side: Side;
  names: string[];
}

/** Moves faces to `trash/<batch id>/`; the batch id undoes it. Unknown or non-face names are refused. */
export async function deleteFaces(dir: string, side: Side, names: string[]): Promise<TrashBatch> {
  const faces = new Set(await listFaces(dir, side));
  for (const n of names) {
    if (basename(n) !== n || !faces.has(n))
      throw new UserError('not-found', `${join(facesDir(dir, side), n)}: no such face`, n);
  }
  const id = `${Date.now()}-${randomUUID().slice(0, 8)}`;
  const target = join(dir, projectFolders.trash, id, side);
  await mkdir(target, { recursive: true });
  for (const n of names) await rename(join(facesDir(dir, side), n), join(target, n));
  return { id, side, names };
}

/** Puts a deleted batch back where it was. A face of the same name made since (a new extract) is kept, never overwritten. */
export async function undoDelete(dir: string, batchId: string): Promise<TrashBatch> {
  const { batchDir, side } = await trashBatch(dir, batchId, 'nothing to undo (trash batch not found)');
  const names = await readdir(join(batchDir, side));
  const present = new Set(await listFaces(dir, side));
  const clash = names.find((n) => present.has(n));
  if (clash)
    throw new UserError(
      'bad-file',
      `${join(facesDir(dir, side), clash)}: a face of this name exists again; move it away to restore the batch`,
      clash,
    );
  await mkdir(facesDir(dir, side), { recursive: true });
  for (const n of names) await rename(join(batchDir, side, n), join(facesDir(dir, side), n));
  await rm(batchDir, { recursive: true, force: true });
  return { id: batchId, side, names };
}

/** A batch in the trash: its faces and when they were deleted (ms since the epoch, from the batch id). */
export interface TrashEntry extends TrashBatch {
  deleted: number;
}

/** The batches in the project trash, newest first. Folders that are not trash batches are left out (and alone). */
export async function listTrash(dir: string): Promise<TrashEntry[]> {
  const root = join(dir, projectFolders.trash);
  const ids = await readdir(root).catch(() => [] as string[]);
  const out: TrashEntry[] = [];
  for (const id of ids) {
    if (!BATCH_ID.test(id)) continue;
    for (const side of ['A', 'B'] as const) {
      const names = await readdir(join(root, id, side)).catch(() => undefined);
      if (names?.length)
        out.push({
          id,
          side,
          names: names.filter((n) => isImageFile(n)).sort(collator.compare),
          deleted: Number(id.split('-')[0]),
        });
    }
  }
  return out.sort((a, b) => b.deleted - a.deleted || b.id.localeCompare(a.id));
}

/** Destroys trash batches for good (all of them when `batchIds` is absent); returns how many faces went. */
export async function emptyTrash(
  dir: string,
  batchIds?: readonly string[],
): Promise<{ batches: number; faces: number }> {
  const batches = (await listTrash(dir)).filter((b) => !batchIds || batchIds.includes(b.id));
  for (const id of batchIds ?? []) await trashBatch(dir, id, 'not in the trash');
  for (const b of batches) await rm(join(dir, projectFolders.trash, b.id), { recursive: true, force: true });
  return { batches: new Set(batches.map((b) => b.id)).size, faces: batches.reduce((s, b) => s + b.names.length, 0) };
}

const BATCH_ID = /^\d+-[\w-]+$/;

async function trashBatch(dir: string, batchId: string, missing: string): Promise<{ batchDir: string; side: Side }> {
  if (!/^[\w-]+$/.test(batchId)) throw new UserError('bad-option', `${batchId}: not a trash batch id`);
  const batchDir = join(dir, projectFolders.trash, batchId);
  const sides = await readdir(batchDir).catch(() => {
    throw new UserError('not-found', `${batchDir}: ${missing}`, batchDir);
  });
  const side = sides[0] as Side | undefined;
  if (side !== 'A' && side !== 'B') throw new UserError('bad-file', `${batchDir}: not a trash batch`, batchDir);
  return { batchDir, side };
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}
