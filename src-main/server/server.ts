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
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { wireRequestSchema, type AppEvent, type WireMessage } from '../../src-shared/ipc';
import { createServices, dispatch, type Services } from '../services/handlers';
import { isUserError } from '../../src-shared/errors';
import { PathGuard } from '../services/path-guard';
import type { SettingsStore } from '../services/settings';
import { resolveUserMedia } from '../services/user-files';
import { openRange, planRangedReply } from '../services/file-range';
import { securityHeaders } from '../services/security-headers';

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

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const host = opts.host ?? '127.0.0.1';
  const staticDir = resolve(opts.staticDir);
  const guard = await PathGuard.create(opts.roots);
  const sockets = new Set<WebSocket>();
  const emit = (event: AppEvent) => {
    const msg = JSON.stringify({ kind: 'event', event } satisfies WireMessage);
    for (const s of sockets) if (s.readyState === s.OPEN) s.send(msg);
  };
  const services = createServices({ shell: 'browser', guard, emit, settings: opts.settings });
  const { handlers } = services;

  const server = createServer((req, res) => {
    void handleHttp(req, res).catch((e: unknown) => {
      // A bug, not the client's doing: logged in one line, never a crash.
      console.error(`server: ${req.method ?? '?'} request failed: ${e instanceof Error ? e.message : String(e)}`);
      if (!res.headersSent) res.writeHead(500).end('internal error');
      else res.destroy();
    });
  });
  // Malformed requests Node's parser refuses (bad request line, huge headers): 400/431, then the socket goes.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && !socket.destroyed) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    } else socket.destroy();
  });

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestTarget(req.url);
    if (!url) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('400: malformed request target\n');
      return;
    }
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
      await serveUserFile(guard, url.searchParams.get('path') ?? '', req, res);
      return;
    }
    const path = decodePath(url.pathname);
    if (path === undefined) {
      res
        .writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end('400: malformed percent-encoding in the path\n');
      return;
    }
    await serveStatic(staticDir, path, req, res);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    // Node hands the raw socket over without an error listener: a reset would otherwise end the process.
    socket.on('error', () => socket.destroy());
    const url = requestTarget(req.url);
    if (!url) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Same-origin only: a page elsewhere cannot ride the user's cookie into our socket.
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || origin === `http://${req.headers.host ?? ''}`;
    if (url.pathname !== '/ws' || !sameOrigin || !authorized(req, token)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      // ws reports a protocol violation (a frame over maxPayload: 1009, invalid UTF-8: 1007, a bad opcode:
      // 1002) as an 'error' and closes the connection itself; without a listener it would end the process.
      ws.on('error', () => ws.terminate());
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', (data, isBinary) => {
        onMessage(ws, data, isBinary).catch((e: unknown) => {
          console.error(`server: message handling failed: ${e instanceof Error ? e.message : String(e)}`);
        });
      });
    });
  });

  const reply = (ws: WebSocket, msg: WireMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };
  const refuse = (ws: WebSocket, id: number, message: string) =>
    reply(ws, { kind: 'response', id, ok: false, error: { code: 'bad-request', message } });

  async function onMessage(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    if (isBinary) return refuse(ws, -1, 'binary messages are not accepted: send JSON text');
    let raw: unknown;
    try {
      raw = JSON.parse(rawText(data));
    } catch {
      return refuse(ws, -1, 'message is not JSON');
    }
    const framed = wireRequestSchema.safeParse(raw);
    if (!framed.success) {
      const id =
        raw !== null && typeof raw === 'object' && 'id' in raw && Number.isSafeInteger(raw.id)
          ? (raw.id as number)
          : -1;
      return refuse(
        ws,
        id,
        `malformed request: ${framed.error.issues
          .map((i) => `${i.path.join('.') || 'message'}: ${i.message}`)
          .join('; ')
          .slice(0, 500)}`,
      );
    }
    const { id, channel, params } = framed.data;
    const r = await dispatch(handlers, channel, params);
    reply(ws, { kind: 'response', id, ...r } as WireMessage);
  }

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => ok());
  });
  // Later listener errors (out of file descriptors on accept) are logged; the server keeps serving.
  server.on('error', (e) => console.error(`server: ${e.message}`));
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

/**
 * The request target as a URL, or undefined when it is not an origin-form path (`/...`) that parses. A target
 * like `//a:99999/ws` is kept as a path rather than read as a host and port (which throws).
 */
export function requestTarget(target: string | undefined): URL | undefined {
  if (!target?.startsWith('/')) return undefined;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

/** `decodeURIComponent`, or undefined for malformed percent-encoding (`/%E0%A4%A`). */
function decodePath(pathname: string): string | undefined {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
}

function rawText(data: RawData): string {
  return Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** Sends a file (or a byte range of it) and settles when it is sent or the client went away. */
async function send(res: ServerResponse, body: Readable | undefined, head: boolean): Promise<void> {
  if (!body || head) {
    body?.destroy();
    res.end();
    return;
  }
  // A file that vanishes mid-read or a client that leaves ends this response, not the server.
  await pipeline(body, res).catch(() => res.destroy());
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
async function serveUserFile(guard: PathGuard, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let media: Awaited<ReturnType<typeof resolveUserMedia>>;
  try {
    media = await resolveUserMedia(guard, path);
  } catch (e) {
    if (!isUserError(e)) throw e;
    res
      .writeHead(e.code === 'outside-root' ? 403 : 404, { 'Content-Type': 'text/plain; charset=utf-8' })
      .end(e.message);
    return;
  }
  // Byte ranges, so that a <video> can seek (issue 13).
  const plan = planRangedReply(req.headers.range, media.size, media.type);
  res.writeHead(plan.status, plan.headers);
  await send(res, openRange(media.file, plan), req.method === 'HEAD');
}

async function serveStatic(root: string, pathname: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (pathname.includes('\0')) {
    res.writeHead(400).end();
    return;
  }
  const rel = normalize(pathname).replace(/^([/\\])+/, '');
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
    ...securityHeaders,
    'Cache-Control': 'no-cache',
  });
  await send(res, createReadStream(file), req.method === 'HEAD');
}
