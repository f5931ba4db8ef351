/**
 * Browser mode: serves the studio's built renderer and the IPC contract over a WebSocket, on 127.0.0.1 by
 * default, behind a per-run access token. The first visit carries `?token=...`; the server answers with an
 * HttpOnly, SameSite=Strict cookie and redirects to the bare URL, so the token does not linger in the address
 * bar. Every later request, and the WebSocket upgrade, must carry that cookie (or `Authorization: Bearer`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { wireRequestSchema, type AppEvent, type WireMessage } from '../../src-shared/ipc';
import { createServices, dispatch, type Services } from '../services/handlers';
import { isUserError } from '../../src-shared/errors';
import { PathGuard } from '../services/path-guard';
import type { SettingsStore } from '../services/settings';
import { resolveUserMedia } from '../services/user-files';

export interface ServerOptions {
  /** Folder with the built renderer (index.html + assets). */
  staticDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); a random one otherwise. */
  token?: string;
  /** Folders the GUI may read and write. */
  roots: string[];
  /** Settings store (tests pass one in a temp folder). */
  settings?: SettingsStore;
}

export interface RunningServer {
  services: Services;
  url: string;
  /** The URL with the token, to open in a browser. */
  loginUrl: string;
  token: string;
  port: number;
  emit(event: AppEvent): void;
  close(): Promise<void>;
}

const COOKIE = 'fss_token';
const MAX_MESSAGE_BYTES = 1 << 20;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.ico': 'image/x-icon',
};


/** The same policy as the Electron window's: only our own scripts, styles and the WebSocket back home. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: fss-file:; media-src 'self' blob: fss-file:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const host = opts.host ?? '127.0.0.1';
  const staticDir = resolve(opts.staticDir);
  const guard = await PathGuard.create(opts.roots);
  const sockets = new Set<WebSocket>();
  const emit = (event: AppEvent) => {
    const msg = JSON.stringify({ kind: 'event', event } satisfies WireMessage);
    for (const s of sockets) s.send(msg);
  };
  const services = createServices({ shell: 'browser', guard, emit, settings: opts.settings });
  const { handlers } = services;

  const server = createServer((req, res) => {
    void handleHttp(req, res).catch((e: unknown) => {
      console.error(e);
      if (!res.headersSent) res.writeHead(500).end('internal error');
    });
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const queryToken = url.searchParams.get('token');
    if (queryToken !== null) {
      if (!tokenMatches(queryToken, token)) return deny(res);
      url.searchParams.delete('token');
      res.writeHead(302, {
        'Set-Cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        Location: url.pathname + url.search,
      });
      res.end();
      return;
    }
    if (!authorized(req, token)) return deny(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (url.pathname === '/file') {
      await serveUserFile(guard, url.searchParams.get('path') ?? '', res);
      return;
    }
    await serveStatic(staticDir, url.pathname, res);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Same-origin only: a page elsewhere cannot ride the user's cookie into our socket.
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || origin === `http://${req.headers.host ?? ''}`;
    if (url.pathname !== '/ws' || !sameOrigin || !authorized(req, token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data) => void onMessage(ws, data.toString()));
    });
  });

  async function onMessage(ws: WebSocket, text: string): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      ws.send(JSON.stringify({ kind: 'response', id: -1, ok: false, error: { code: 'bad-request', message: 'message is not JSON' } }));
      return;
    }
    const framed = wireRequestSchema.safeParse(raw);
    if (!framed.success) {
      const id = typeof (raw as { id?: unknown }).id === 'number' ? (raw as { id: number }).id : -1;
      ws.send(JSON.stringify({ kind: 'response', id, ok: false, error: { code: 'bad-request', message: `malformed request: ${framed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')}` } }));
      return;
    }
    const { id, channel, params } = framed.data;
    const r = await dispatch(handlers, channel, params);
    ws.send(JSON.stringify({ kind: 'response', id, ...r } as WireMessage));
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}/`;
  return {
    services,
    url,
    loginUrl: `${url}?token=${token}`,
    token,
    port,
    emit,
    close: async () => {
      await services.close();
      for (const s of sockets) s.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}

function deny(res: ServerResponse): void {
  res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('401: missing or wrong access token. Open the URL that `npm start` printed (it carries ?token=...).\n');
}

function authorized(req: IncomingMessage, token: string): boolean {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ') && tokenMatches(auth.slice(7), token)) return true;
  const cookie = req.headers.cookie ?? '';
  for (const part of cookie.split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE && v !== undefined && tokenMatches(v, token)) return true;
  }
  return false;
}

function tokenMatches(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Media the GUI shows (thumbnails, previews, results): only inside the allowed roots, only media types. */
async function serveUserFile(guard: PathGuard, path: string, res: ServerResponse): Promise<void> {
  let media: Awaited<ReturnType<typeof resolveUserMedia>>;
  try {
    media = await resolveUserMedia(guard, path);
  } catch (e) {
    const code = isUserError(e) ? (e.code === 'outside-root' ? 403 : 404) : 500;
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' }).end(isUserError(e) ? e.message : 'error');
    return;
  }
  res.writeHead(200, { 'Content-Type': media.type, 'Content-Length': media.size, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  createReadStream(media.file).pipe(res);
}

async function serveStatic(root: string, pathname: string, res: ServerResponse): Promise<void> {
  const rel = normalize(decodeURIComponent(pathname)).replace(/^([/\\])+/, '');
  let file = join(root, rel);
  if (!file.startsWith(root)) {
    res.writeHead(403).end();
    return;
  }
  let st = await stat(file).catch(() => undefined);
  if (!st || st.isDirectory()) {
    // Single-page app: unknown paths get index.html.
    file = join(root, 'index.html');
    st = await stat(file).catch(() => undefined);
    if (!st) {
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end('the studio has not been built: run `npm run build`\n');
      return;
    }
  }
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
    'Content-Length': st.size,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  });
  createReadStream(file).pipe(res);
}
