/**
 * The renderer's only way to the main process: a typed client over the shared IPC contract. In Electron the
 * preload exposes `window.fss` (contextBridge); in browser mode requests travel over a WebSocket to the
 * server, authenticated by the cookie the server set when the tokened URL was opened.
 */
import type { AppEvent, Channel, RequestParams, ResponseMap, WireError, WireMessage } from '../../src-shared/ipc';

export interface Client {
  invoke<C extends Channel>(channel: C, params: RequestParams<C>): Promise<ResponseMap[C]>;
  onEvent(listener: (e: AppEvent) => void): () => void;
}

/** What the Electron preload puts on `window.fss`. */
export interface PreloadBridge {
  invoke(channel: string, params: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }>;
  onEvent(listener: (e: AppEvent) => void): () => void;
}

export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

declare global {
  interface Window {
    fss?: PreloadBridge;
  }
}

/**
 * URL from which the page loads a user file (thumbnail, preview, video) inside the allowed roots: the server's
 * `GET /file?path=` in browser mode, the `fss-file:` protocol in Electron. `version` defeats the cache for files
 * rewritten in place (training previews).
 */
export function fileUrl(path: string, version?: string | number): string {
  const q = `path=${encodeURIComponent(path)}${version === undefined ? '' : `&v=${encodeURIComponent(String(version))}`}`;
  return window.fss ? `fss-file://local/?${q}` : `/file?${q}`;
}

export function createClient(): Client {
  return window.fss
    ? preloadClient(window.fss)
    : socketClient(new URL('ws', window.location.href.replace(/^http/, 'ws')).toString());
}

function preloadClient(bridge: PreloadBridge): Client {
  return {
    async invoke(channel, params) {
      const r = await bridge.invoke(channel, params);
      if (!r.ok) throw new ClientError(r.error.code, r.error.message);
      return r.result as never;
    },
    onEvent: (l) => bridge.onEvent(l),
  };
}

export function socketClient(url: string): Client {
  const listeners = new Set<(e: AppEvent) => void>();
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let nextId = 1;
  let socket: Promise<WebSocket> | undefined;

  const connect = () =>
    (socket ??= new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new ClientError('disconnected', 'cannot reach the studio server'));
      ws.onclose = () => {
        socket = undefined;
        for (const p of pending.values())
          p.reject(new ClientError('disconnected', 'the studio server closed the connection'));
        pending.clear();
      };
      ws.onmessage = (m) => {
        const msg = JSON.parse(String(m.data)) as WireMessage;
        if (msg.kind === 'event') for (const l of listeners) l(msg.event);
        else {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          if (!p) return;
          if (msg.ok) p.resolve(msg.result);
          else p.reject(new ClientError(msg.error.code, msg.error.message));
        }
      };
    }));

  return {
    async invoke(channel, params) {
      const ws = await connect();
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        ws.send(JSON.stringify({ id, channel, params }));
      });
    },
    onEvent(l) {
      listeners.add(l);
      void connect().catch(() => {});
      return () => listeners.delete(l);
    },
  };
}

/**
 * The message to show for a failed request, with what to do where the user can act on it: a path outside the
 * allowed folders names the `--root` option that allows one.
 */
export function userMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof ClientError && e.code === 'outside-root') {
    return `${message}. To allow a folder, start the studio with --root <folder> (for example: faceswap-studio start --root ~/Videos).`;
  }
  return message;
}
