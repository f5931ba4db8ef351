/**
 * The main process's request handlers, shared by the Electron shell (ipcMain) and the browser-mode server
 * (WebSocket). Requests arrive unvalidated; `dispatch` validates them against the shared contract first.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { isUserError, UserError } from '../../src-shared/errors';
import type { Side } from '../../src-shared/formats/project';
import {
  validateRequest,
  type AppEvent,
  type Channel,
  type ProjectView,
  type ResponseMap,
  type WireError,
  type requestSchemas,
} from '../../src-shared/ipc';
import { appName, appVersion } from '../engine/app-info';
import { runDoctor } from '../engine/doctor';
import {
  createProject,
  deleteFaces,
  emptyTrash,
  facesDir,
  listFaces,
  listTrash,
  openProject,
  undoDelete,
  updateProject,
  type OpenProject,
} from '../engine/project/project';
import { JobQueue, type JobTools } from './jobs';
import { PreviewService } from './preview-service';
import { parseOptions } from '../../src-shared/options';
import { convertOptions } from '../../src-shared/stages/convert';
import { trainResult } from '../../src-shared/stages/train';
import { guardOptionPaths, isInside, type PathGuard } from './path-guard';
import { findStage } from '../engine/registry';
import { checkFfmpegPath, SettingsStore, type Settings } from './settings';
import { configureMediaTools } from '../engine/media/ffmpeg';
import { facesMeta } from './face-meta';
import { saveFaceMask } from './face-masks';
import { probeMedia } from './media-check';
import { ensureThumbs } from './thumbnails';
import { projectFolders } from '../../src-shared/formats/project';

export interface ServiceContext {
  shell: 'electron' | 'browser';
  guard: PathGuard;
  /** Sends an event to every connected renderer. */
  emit(event: AppEvent): void;
  settings?: SettingsStore;
  /** Shows a file in the system file manager (the Electron shell's `shell.showItemInFolder`); absent in browser mode. */
  showInFolder?(path: string): void;
}

export type Handlers = { [C in Channel]: (params: z.output<(typeof requestSchemas)[C]>) => Promise<ResponseMap[C]> };

export interface Services {
  handlers: Handlers;
  jobs: JobQueue;
  /** The open project, if any. */
  project(): OpenProject | undefined;
  /** Cancels jobs and stops workers (shutdown). */
  close(): Promise<void>;
}

export function createServices(ctx: ServiceContext): Services {
  let doctor: Promise<ResponseMap['app:doctor']> | undefined;
  let current: OpenProject | undefined;
  const settings = ctx.settings ?? new SettingsStore();
  let ratesWritten = Promise.resolve();
  const jobs = new JobQueue({
    emit: (e) => {
      ctx.emit(e);
      // Chained, so `train:rates` answers after the last finished job's rate is written.
      if (e.type === 'job:done') ratesWritten = ratesWritten.then(() => recordRate(e.jobId, e.result));
    },
  });
  // A training job's measured rate is kept for the Train view's estimate (`train:rates`). Not keeping one (a full
  // disk) costs only that estimate, never the job: the write's error is dropped here.
  const recordRate = async (jobId: string, result: unknown): Promise<void> => {
    if (jobs.list().find((j) => j.id === jobId)?.stage !== 'train') return;
    const r = trainResult.safeParse(result);
    if (!r.success) return;
    const { trainer, backend, threads, egs, iteration, startIteration } = r.data;
    await settings
      .addTrainingRate({ trainer, backend, threads, egs, iterations: iteration - startIteration })
      .catch(() => undefined);
  };
  const previews = new PreviewService();
  void settings.get().then(applySettings);

  const requireProject = (): OpenProject => {
    if (!current) throw new UserError('not-found', 'no project is open: create or open one first');
    return current;
  };
  const view = async (p: OpenProject): Promise<ProjectView> => ({
    dir: p.dir,
    project: p.project,
    faces: { A: (await listFaces(p.dir, 'A')).length, B: (await listFaces(p.dir, 'B')).length },
  });
  const use = async (p: OpenProject): Promise<ProjectView> => {
    current = p;
    await ctx.guard.addRoot(p.dir);
    await settings.addRecent(p.dir, p.project.name);
    return view(p);
  };
  const count = async (side: Side) => (await listFaces(requireProject().dir, side)).length;

  const handlers: Handlers = {
    'app:doctor': () => (doctor ??= runDoctor()),
    'app:info': async () => ({
      name: appName,
      version: appVersion,
      shell: ctx.shell,
      roots: ctx.guard.roots,
      labelOutputs: true,
    }),
    'fs:list': async ({ path }) => {
      const dir = await ctx.guard.check(path);
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => {
        throw new UserError('not-found', `${dir}: not a readable folder`, dir);
      });
      const parent = dirname(dir);
      return {
        path: dir,
        parent: parent !== dir && ctx.guard.roots.some((r) => dir !== r && isInside(r, dir)) ? parent : undefined,
        entries: entries
          .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.isFile()))
          .map((e) => ({
            name: e.name,
            path: join(dir, e.name),
            kind: e.isDirectory() ? ('dir' as const) : ('file' as const),
          }))
          .sort((a, b) =>
            a.kind === b.kind ? a.name.localeCompare(b.name, undefined, { numeric: true }) : a.kind === 'dir' ? -1 : 1,
          ),
      };
    },
    'project:create': async (p) => {
      const dir = await ctx.guard.check(p.dir);
      for (const s of [...p.identities.A.sources, ...p.identities.B.sources]) await ctx.guard.check(s);
      return use(await createProject({ ...p, dir }));
    },
    'project:open': async ({ dir }) => use(await openProject(await ctx.guard.check(dir))),
    'project:recent': async () => ({ projects: (await settings.get()).recent }),
    'project:update': async (edit) => {
      const p = requireProject();
      // Every new source is inside the allowed roots and readable as what it claims to be.
      for (const side of ['A', 'B'] as const) {
        const id = edit.identities?.[side];
        if (id?.sources)
          id.sources = await Promise.all(
            id.sources.map(async (s) => (await probeMedia(await ctx.guard.check(s))).path),
          );
      }
      current = await updateProject(p, edit);
      return view(current);
    },
    'media:probe': async ({ path }) => probeMedia(await ctx.guard.check(path)),
    'faces:list': async ({ side }) => {
      const p = requireProject();
      return { side, dir: facesDir(p.dir, side), names: await listFaces(p.dir, side) };
    },
    'faces:delete': async ({ side, names }) => {
      const batch = await deleteFaces(requireProject().dir, side, names);
      return { batchId: batch.id, side, names: batch.names, remaining: await count(side) };
    },
    'faces:meta': async ({ side }) => {
      const p = requireProject();
      return { side, faces: await facesMeta(join(p.dir, projectFolders.alignments), await listFaces(p.dir, side)) };
    },
    'faces:thumbs': async ({ side, names }) => {
      const p = requireProject();
      return { side, dir: await ensureThumbs(p.dir, side, facesDir(p.dir, side), names) };
    },
    'faces:mask:save': async ({ side, name, png }) => saveFaceMask(requireProject().dir, side, name, png),
    'faces:undo': async ({ batchId }) => {
      const batch = await undoDelete(requireProject().dir, batchId);
      return { side: batch.side, names: batch.names, remaining: await count(batch.side) };
    },
    'faces:trash:list': async () => {
      const p = requireProject();
      return {
        batches: (await listTrash(p.dir)).map((b) => ({ ...b, dir: join(p.dir, projectFolders.trash, b.id, b.side) })),
      };
    },
    'faces:trash:restore': async ({ batchId }) => {
      const batch = await undoDelete(requireProject().dir, batchId);
      return { side: batch.side, names: batch.names, remaining: await count(batch.side) };
    },
    'faces:trash:empty': async ({ batchIds }) => emptyTrash(requireProject().dir, batchIds),
    'shell:show-in-folder': async ({ path }) => {
      const file = await ctx.guard.check(path);
      ctx.showInFolder?.(file);
      return { shown: ctx.showInFolder !== undefined, dir: dirname(file) };
    },
    'job:start': async ({ stage, options, title }) => {
      const def = findStage(stage)?.def;
      if (!def) throw new UserError('bad-option', `unknown stage '${stage}'`);
      // Every path and paths option, read or write, by its schema kind: inside the project or the allowed roots.
      const checked = await guardOptionPaths(ctx.guard, def.options, options, current?.dir);
      return jobs.enqueue(stage, checked, title, toolsOf(await settings.get()));
    },
    'convert:preview': async ({ input, model, frame, options, view }) => {
      const o = parseOptions(
        convertOptions.partial(),
        await guardOptionPaths(ctx.guard, convertOptions, options, current?.dir),
      );
      return previews.render({
        input: await ctx.guard.check(input),
        model: await ctx.guard.check(model),
        frame,
        options: o,
        ...(view ? { view } : {}),
        tools: toolsOf(await settings.get()),
      });
    },
    'job:request': async ({ jobId, request }) => {
      jobs.request(jobId, request);
      return { ok: true as const };
    },
    'job:cancel': async ({ jobId }) => {
      jobs.cancel(jobId);
      return { ok: true as const };
    },
    'job:list': async () => ({ jobs: jobs.list() }),
    'train:rates': async () => {
      await ratesWritten;
      return {
        rates: (await settings.get()).trainingRates.map((r) => ({
          trainer: r.trainer,
          egs: r.egs,
          backend: r.backend,
          source: `a training job of ${r.date.slice(0, 10)} (${r.iterations} iterations, ${r.backend}, ${r.threads} thread${r.threads === 1 ? '' : 's'})`,
        })),
      };
    },
    'settings:get': async () => {
      const s = await settings.get();
      return { backend: s.backend, ffmpegPath: s.ffmpegPath, projectsDir: s.projectsDir };
    },
    'settings:set': async ({ backend, ffmpegPath, projectsDir }) => {
      if (projectsDir !== undefined) await ctx.guard.check(projectsDir);
      // The ffmpeg is checked (where it is, what it answers) before it is written and run by any job.
      const ffmpeg = ffmpegPath === undefined ? undefined : await checkFfmpegPath(ffmpegPath, ctx.guard.roots);
      const s = await settings.update((cur) => ({
        ...cur,
        ...(backend ? { backend } : {}),
        ffmpegPath: ffmpeg?.path,
        projectsDir,
      }));
      applySettings(s);
      doctor = undefined; // the facts may have changed
      return {
        backend: s.backend,
        ffmpegPath: s.ffmpegPath,
        ...(ffmpeg ? { ffmpegVersion: ffmpeg.version } : {}),
        projectsDir: s.projectsDir,
      };
    },
  };
  return {
    handlers,
    jobs,
    project: () => current,
    close: async () => {
      await jobs.shutdown();
      await previews.close();
    },
  };
}

/**
 * Makes the user's ffmpeg setting effective in this process (media:probe, thumbnails, the machine panel, which
 * names the setting as the source). Jobs and previews get the settings as their tools (`toolsOf`): the studio
 * never changes the environment, whose FSS_BACKEND and FSS_FFMPEG are the CLI's.
 */
function applySettings(s: Settings): void {
  configureMediaTools({ ffmpegPath: s.ffmpegPath });
}

/** The settings a job or preview runs with (applied in its worker thread). */
function toolsOf(s: Settings): JobTools {
  return { backend: s.backend, ...(s.ffmpegPath ? { ffmpegPath: s.ffmpegPath } : {}) };
}

export type DispatchResult = { ok: true; result: unknown } | { ok: false; error: WireError };

/** Validates then runs one request. User errors come back as their message; bugs as `internal` (logged). */
export async function dispatch(handlers: Handlers, channel: string, params: unknown): Promise<DispatchResult> {
  const v = validateRequest(channel, params);
  if (!v.ok) return v;
  try {
    const handler = handlers[v.channel] as (p: unknown) => Promise<unknown>;
    return { ok: true, result: await handler(v.params) };
  } catch (e) {
    if (isUserError(e)) return { ok: false, error: { code: e.code, message: e.message } };
    console.error(e);
    return { ok: false, error: { code: 'internal', message: e instanceof Error ? e.message : String(e) } };
  }
}
