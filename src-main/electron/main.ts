/**
 * The Electron shell: one window over the same handlers the browser-mode server uses. Security: context
 * isolation, sandbox, no node integration, a strict CSP, navigation and new windows denied, every IPC request
 * checked for its sender and validated against the shared contract (in `dispatch`).
 */
import { app, BrowserWindow, ipcMain, protocol, session, shell } from 'electron';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AppEvent } from '../../src-shared/ipc';
import { appRoot } from '../engine/app-info';
import { writeJsonAtomic } from '../engine/util/atomic-write';
import { createServices, dispatch } from '../services/handlers';
import { PathGuard } from '../services/path-guard';
import { securityHeaders } from '../services/security-headers';
import { mediaResponse } from '../services/user-files';

const rendererIndex = join(appRoot, 'dist', 'renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererIndex).toString();
const statePath = () => join(app.getPath('userData'), 'window-state.json');

interface WindowState {
  width: number;
  height: number;
  x?: number;
  y?: number;
  maximized?: boolean;
}

function loadWindowState(): WindowState {
  try {
    const s = JSON.parse(readFileSync(statePath(), 'utf8')) as WindowState;
    if (s.width > 200 && s.height > 200) return s;
  } catch {
    // first start
  }
  return { width: 1400, height: 900 };
}

async function createWindow(): Promise<BrowserWindow> {
  const state = loadWindowState();
  const win = new BrowserWindow({
    width: state.width,
    height: state.height,
    x: state.x,
    y: state.y,
    title: 'Faceswap Studio',
    backgroundColor: '#16181d',
    webPreferences: {
      preload: join(import.meta.dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  if (state.maximized) win.maximize();
  win.on('close', () => {
    const b = win.getBounds();
    void writeJsonAtomic(statePath(), { ...b, maximized: win.isMaximized() } satisfies WindowState);
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (url !== rendererUrl) e.preventDefault();
  });
  await win.loadFile(rendererIndex);
  return win;
}

// The user's media reach the page through fss-file://local/?path=... (see src-renderer/lib/api.ts fileUrl).
protocol.registerSchemesAsPrivileged([
  { scheme: 'fss-file', privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
]);

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  await app.whenReady();
  session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
    const shared = Object.fromEntries(Object.entries(securityHeaders).map(([k, v]) => [k, [v]]));
    cb({ responseHeaders: { ...details.responseHeaders, ...shared } });
  });
  const guard = await PathGuard.create([homedir()]);
  const emit = (event: AppEvent) => {
    for (const w of BrowserWindow.getAllWindows()) w.webContents.send('fss:event', event);
  };
  // Show in folder: the path reaches here only after the shared schema and the path guard (in the handler).
  const { handlers, close } = createServices({
    shell: 'electron',
    guard,
    emit,
    showInFolder: (path) => shell.showItemInFolder(path),
  });
  // Quitting (the last window closed, SIGTERM, SIGHUP, Ctrl+C in the launching terminal) cancels the jobs first
  // and waits for them: a training saves before the app exits (docs/reliability.md).
  let closing = false;
  app.on('before-quit', (e) => {
    if (closing) return;
    closing = true;
    e.preventDefault();
    void close().finally(() => app.quit());
  });
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) process.on(signal, () => app.quit());
  // The user's media, in byte ranges so that a <video> can seek (shared with the browser-mode route's helper).
  protocol.handle('fss-file', (req) => mediaResponse(guard, req));
  ipcMain.handle('fss:invoke', async (event, channel: unknown, params: unknown) => {
    // Only our own page may call in.
    if (event.senderFrame?.url !== rendererUrl)
      return { ok: false, error: { code: 'forbidden', message: 'unknown sender' } };
    if (typeof channel !== 'string')
      return { ok: false, error: { code: 'bad-request', message: 'channel must be a string' } };
    return dispatch(handlers, channel, params);
  });
  let win = await createWindow();
  app.on('second-instance', () => {
    if (win.isMinimized()) win.restore();
    win.focus();
  });
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) void createWindow().then((w) => (win = w));
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
}

void main();
