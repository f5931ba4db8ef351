/**
 * The main process's request handlers, shared by the Electron shell (ipcMain) and the browser-mode server
 * (WebSocket). Requests arrive unvalidated; `dispatch` validates them against the shared contract first.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isUserError } from '../../src-shared/errors';
import { validateRequest, type AppEvent, type Channel, type ResponseMap, type WireError, type requestSchemas } from '../../src-shared/ipc';
import type { z } from 'zod';
import { appName, appVersion } from '../engine/app-info';
import { runDoctor } from '../engine/doctor';
import type { PathGuard } from './path-guard';

export interface ServiceContext {
  shell: 'electron' | 'browser';
  guard: PathGuard;
  /** Sends an event to every connected renderer. */
  emit(event: AppEvent): void;
}

type Handlers = { [C in Channel]: (params: z.output<(typeof requestSchemas)[C]>) => Promise<ResponseMap[C]> };

export function createHandlers(ctx: ServiceContext): Handlers {
  let doctor: Promise<ResponseMap['app:doctor']> | undefined;
  return {
    'app:doctor': () => (doctor ??= runDoctor()),
    'app:info': async () => ({ name: appName, version: appVersion, shell: ctx.shell, roots: ctx.guard.roots, labelOutputs: true }),
    'fs:list': async ({ path }) => {
      const dir = await ctx.guard.check(path);
      const entries = await readdir(dir, { withFileTypes: true });
      const parent = dirname(dir);
      return {
        path: dir,
        parent: parent !== dir && ctx.guard.roots.some((r) => dir !== r && dir.startsWith(r)) ? parent : undefined,
        entries: entries
          .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.isFile()))
          .map((e) => ({ name: e.name, path: join(dir, e.name), kind: e.isDirectory() ? ('dir' as const) : ('file' as const) }))
          .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name, undefined, { numeric: true }) : a.kind === 'dir' ? -1 : 1)),
      };
    },
  };
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
