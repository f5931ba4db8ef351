import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../src-main/server/server';
import { closeCode, frame, rawExchange, rawWebSocket } from '../helpers/raw-ws';
import { startTestServer, trapCrashes } from '../helpers/server';

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fss-server-'));
  await mkdir(join(dir, 'project', 'faces'), { recursive: true });
  await mkdir(join(dir, 'outside'));
  await symlink(join(dir, 'outside'), join(dir, 'project', 'escape'));
  server = await startTestServer(dir, [join(dir, 'project')]);
  ({ crashes, release } = trapCrashes());
});

// A request that crashes the server shows up here (and the server would have exited outside the test runner).
let crashes: unknown[] = [];
let release = () => {};
afterEach(() => {
  expect(crashes, 'uncaught errors in the server').toEqual([]);
});

afterAll(async () => {
  release();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

function connect(headers: Record<string, string>): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

function call(
  ws: WebSocket,
  msg: unknown,
): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
  return new Promise((resolve) => {
    ws.once('message', (d) => resolve(JSON.parse(d.toString())));
    ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  });
}

describe('browser-mode server', () => {
  it('binds 127.0.0.1 and refuses HTTP requests without the token', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await fetch(server.url)).status).toBe(401);
    expect((await fetch(`${server.url}?token=wrong`)).status).toBe(401);
    expect((await fetch(server.url, { headers: { cookie: 'fss_token=nope' } })).status).toBe(401);
  });

  it('trades the tokened URL for a cookie and serves the page with a CSP', async () => {
    const r = await fetch(server.loginUrl, { redirect: 'manual' });
    expect(r.status).toBe(302);
    const cookie = r.headers.get('set-cookie') ?? '';
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const page = await fetch(server.url, { headers: { cookie: cookie.split(';')[0] ?? '' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('refuses a WebSocket without the token, or from another origin', async () => {
    await expect(connect({})).rejects.toThrow(/401/);
    await expect(connect({ cookie: `fss_token=${server.token}`, origin: 'http://evil.example' })).rejects.toThrow(
      /401/,
    );
  });

  it('answers malformed messages with a validation error', async () => {
    const ws = await connect({ cookie: `fss_token=${server.token}` });
    try {
      expect((await call(ws, 'not json')).error?.code).toBe('bad-request');
      expect((await call(ws, { id: 1, chanel: 'app:info' })).error?.code).toBe('bad-request');
      expect((await call(ws, { id: 2, channel: 'nope:nope', params: {} })).error?.message).toContain(
        "unknown channel 'nope:nope'",
      );
      const bad = await call(ws, { id: 3, channel: 'fs:list', params: { path: 42 } });
      expect(bad.error?.code).toBe('bad-request');
      expect(bad.error?.message).toContain('path');
      const extra = await call(ws, { id: 4, channel: 'app:info', params: { x: 1 } });
      expect(extra.error?.code).toBe('bad-request');
      const ok = await call(ws, { id: 5, channel: 'app:info', params: {} });
      expect(ok.ok).toBe(true);
    } finally {
      ws.close();
    }
  });

  it('keeps file access inside the allowed roots, through symlinks too', async () => {
    const ws = await connect({ cookie: `fss_token=${server.token}` });
    try {
      const inside = await call(ws, { id: 1, channel: 'fs:list', params: { path: join(dir, 'project') } });
      expect(inside.ok).toBe(true);
      expect((inside.result as { entries: Array<{ name: string }> }).entries.map((e) => e.name)).toContain('faces');
      for (const p of [
        join(dir, 'outside'),
        join(dir, 'project', '..', 'outside'),
        join(dir, 'project', 'escape'),
        '/etc',
        'relative/path',
      ]) {
        const r = await call(ws, { id: 2, channel: 'fs:list', params: { path: p } });
        expect(r.ok, p).toBe(false);
        expect(r.error?.code, p).toBe('outside-root');
      }
    } finally {
      ws.close();
    }
  });

  async function stillServing() {
    const ws = await connect({ cookie: `fss_token=${server.token}` });
    try {
      expect((await call(ws, { id: 9, channel: 'app:info', params: {} })).ok).toBe(true);
    } finally {
      ws.close();
    }
  }

  it('answers an upgrade to a malformed target with 400 and keeps serving (issue 10 item 9)', async () => {
    for (const target of ['//a:99999/ws', '//[::1/ws', 'ws', '*', 'http://evil.example/ws']) {
      const r = await rawExchange(
        server.port,
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      expect(r.status, target).toBeGreaterThanOrEqual(400);
      expect(r.status, target).toBeLessThan(500);
    }
    await stillServing();
  });

  it('answers malformed HTTP targets and percent-encoding with 400, without a stack trace (item 13)', async () => {
    const logged = vi.spyOn(console, 'error');
    try {
      const auth = { authorization: `Bearer ${server.token}` };
      expect((await fetch(`${server.url}%E0%A4%A`, { headers: auth })).status).toBe(400);
      expect((await fetch(`${server.url}%E0%A4%A`)).status).toBe(401);
      const r = await rawExchange(
        server.port,
        `GET http://a:99999/x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${server.token}\r\n\r\n`,
      );
      expect(r.status).toBe(400);
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
  });

  it('survives non-object JSON, a message over 1 MiB and invalid UTF-8 (item 10)', async () => {
    const ws = await connect({ cookie: `fss_token=${server.token}` });
    try {
      for (const msg of ['null', '42', '"x"', '[1,2]', 'true', '{"id":null}']) {
        const r = await call(ws, msg);
        expect(r.ok, msg).toBe(false);
        expect(r.error?.code, msg).toBe('bad-request');
      }
      const binary = await new Promise<{ error?: { code: string } }>((resolve) => {
        ws.once('message', (d) => resolve(JSON.parse(d.toString())));
        ws.send(Buffer.from('{"id":1,"channel":"app:info","params":{}}'), { binary: true });
      });
      expect(binary.error?.code).toBe('bad-request');
    } finally {
      ws.close();
    }
    // Over 1 MiB: the connection closes with 1009 (message too big), the server stays.
    const big = await connect({ cookie: `fss_token=${server.token}` });
    const bigClosed = new Promise<number>((resolve) => big.once('close', (code) => resolve(code)));
    big.on('error', () => undefined);
    big.send('x'.repeat((1 << 20) + 10));
    expect(await bigClosed).toBe(1009);
    // Invalid UTF-8 in a text frame: 1007.
    const raw = await rawWebSocket(server.port, '/ws', { cookie: `fss_token=${server.token}` });
    expect(raw.status).toBe(101);
    raw.socket.write(frame(0x1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])));
    expect(closeCode(await raw.closed(5000))).toBe(1007);
    await stillServing();
  });
});
