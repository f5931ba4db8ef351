import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type RunningServer } from '../../src-main/server/server';

let dir: string;
let server: RunningServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fss-server-'));
  await mkdir(join(dir, 'static'));
  await mkdir(join(dir, 'project', 'faces'), { recursive: true });
  await mkdir(join(dir, 'outside'));
  await writeFile(join(dir, 'static', 'index.html'), '<!doctype html><title>t</title>');
  await symlink(join(dir, 'outside'), join(dir, 'project', 'escape'));
  server = await startServer({ staticDir: join(dir, 'static'), roots: [join(dir, 'project')], port: 0 });
});

afterAll(async () => {
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

function call(ws: WebSocket, msg: unknown): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
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
    await expect(connect({ cookie: `fss_token=${server.token}`, origin: 'http://evil.example' })).rejects.toThrow(/401/);
  });

  it('answers malformed messages with a validation error', async () => {
    const ws = await connect({ cookie: `fss_token=${server.token}` });
    try {
      expect((await call(ws, 'not json')).error?.code).toBe('bad-request');
      expect((await call(ws, { id: 1, chanel: 'app:info' })).error?.code).toBe('bad-request');
      expect((await call(ws, { id: 2, channel: 'nope:nope', params: {} })).error?.message).toContain("unknown channel 'nope:nope'");
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
      for (const p of [join(dir, 'outside'), join(dir, 'project', '..', 'outside'), join(dir, 'project', 'escape'), '/etc', 'relative/path']) {
        const r = await call(ws, { id: 2, channel: 'fs:list', params: { path: p } });
        expect(r.ok, p).toBe(false);
        expect(r.error?.code, p).toBe('outside-root');
      }
    } finally {
      ws.close();
    }
  });
});
