/**
 * App-wide state: the server facts, the open project with its face counts, recent projects, the current view
 * and the notifications. Views read it; changes go through its methods (which call the typed client).
 */
import type { Client } from '../api';
import type { AppInfo, ProjectView, RequestParams } from '../../../src-shared/ipc';
import type { Side } from '../../../src-shared/formats/project';
import { projectFolders } from '../../../src-shared/formats/project';
import { joinPath } from '../format';

export type ViewId = 'projects' | 'extract' | 'faces' | 'train' | 'convert' | 'jobs' | 'settings';

export const VIEWS: ReadonlyArray<{ id: ViewId; label: string; needsProject: boolean; key: string }> = [
  { id: 'projects', label: 'Projects', needsProject: false, key: '1' },
  { id: 'extract', label: 'Extract', needsProject: true, key: '2' },
  { id: 'faces', label: 'Faces', needsProject: true, key: '3' },
  { id: 'train', label: 'Train', needsProject: true, key: '4' },
  { id: 'convert', label: 'Convert', needsProject: true, key: '5' },
  { id: 'jobs', label: 'Jobs', needsProject: false, key: '6' },
  { id: 'settings', label: 'Settings', needsProject: false, key: '7' },
];

export interface Toast {
  id: number;
  kind: 'info' | 'success' | 'error';
  text: string;
}

export interface RecentProject {
  dir: string;
  name: string;
  opened: string;
}

let toastSeq = 0;

export class AppStore {
  view = $state<ViewId>('projects');
  info = $state<AppInfo | undefined>();
  project = $state<ProjectView | undefined>();
  recent = $state<RecentProject[]>([]);
  toasts = $state<Toast[]>([]);
  busy = $state(false);

  constructor(readonly client: Client) {}

  async init(): Promise<void> {
    this.info = await this.client.invoke('app:info', {});
    await this.refreshRecent();
    // A reload of the tab keeps the open project and view (per tab: sessionStorage).
    const saved = readSession();
    if (saved?.dir && !this.project) {
      try {
        await this.open(saved.dir);
        if (saved.view && VIEWS.some((v) => v.id === saved.view)) this.view = saved.view;
      } catch {
        writeSession(undefined);
      }
    }
  }

  async refreshRecent(): Promise<void> {
    this.recent = (await this.client.invoke('project:recent', {})).projects;
  }

  async create(p: RequestParams<'project:create'>): Promise<void> {
    await this.withBusy(async () => {
      this.project = await this.client.invoke('project:create', p);
      writeSession({ dir: this.project.dir, view: this.view });
      this.notify('success', `Created project ${this.project.project.name}`);
      await this.refreshRecent();
    });
  }

  async open(dir: string): Promise<void> {
    await this.withBusy(async () => {
      this.project = await this.client.invoke('project:open', { dir });
      writeSession({ dir, view: this.view });
      await this.refreshRecent();
    });
  }

  /** Re-reads the face counts of both identities (after an extract, a delete, an undo). */
  async refreshCounts(): Promise<void> {
    const p = this.project;
    if (!p) return;
    const [a, b] = await Promise.all([
      this.client.invoke('faces:list', { side: 'A' }),
      this.client.invoke('faces:list', { side: 'B' }),
    ]);
    if (this.project?.dir === p.dir) this.project = { ...p, faces: { A: a.names.length, B: b.names.length } };
  }

  /** Edits the open project (sources, consent, faces skipped in conversion, Convert settings); saved at once. */
  async update(edit: RequestParams<'project:update'>): Promise<void> {
    this.project = await this.client.invoke('project:update', edit);
  }

  /** The faces of one identity whose frames stay original in conversions. */
  async setSkipped(side: Side, names: string[]): Promise<void> {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a local de-duplication
    await this.update({ skipInConversion: { [side]: [...new Set(names)] } });
  }

  setCount(side: Side, n: number): void {
    if (this.project) this.project = { ...this.project, faces: { ...this.project.faces, [side]: n } };
  }

  /** Conventional folders of the open project. */
  paths(): { faces(side: Side): string; alignments: string; model: string; trash: string; output: string } | undefined {
    const dir = this.project?.dir;
    if (!dir) return undefined;
    return {
      faces: (side) => joinPath(dir, projectFolders.faces(side)),
      alignments: joinPath(dir, projectFolders.alignments),
      model: joinPath(dir, projectFolders.model),
      trash: joinPath(dir, projectFolders.trash),
      output: joinPath(dir, projectFolders.output),
    };
  }

  go(view: ViewId): void {
    this.view = view;
    if (this.project) writeSession({ dir: this.project.dir, view });
  }

  notify(kind: Toast['kind'], text: string, ms = kind === 'error' ? 10_000 : 5_000): void {
    const id = ++toastSeq;
    this.toasts = [...this.toasts, { id, kind, text }].slice(-5);
    setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  private async withBusy(f: () => Promise<void>): Promise<void> {
    this.busy = true;
    try {
      await f();
    } finally {
      this.busy = false;
    }
  }
}

const SESSION_KEY = 'fss.session';

function readSession(): { dir?: string; view?: ViewId } | undefined {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}

function writeSession(s: { dir: string; view: ViewId } | undefined): void {
  try {
    if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
    else sessionStorage.removeItem(SESSION_KEY);
  } catch {
    // storage disabled: a reload starts at Projects
  }
}
