// Fuzzing the browser-mode server (issue 10): 10,000 random and malformed HTTP requests, upgrade requests and
// WebSocket frames, to 127.0.0.1 only. The server must never crash, never answer 5xx (or an `internal` error),
// and a normal client must still work afterwards. Seeded: FSS_FUZZ_SEED=<n> replays a run.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RunningServer } from '../../src-main/server/server';
import { requestSchemas } from '../../src-shared/ipc';
import { frame, prng, rawExchange, rawWebSocket } from '../helpers/raw-ws';
import { startTestServer, trapCrashes } from '../helpers/server';

const SEED = Number(process.env.FSS_FUZZ_SEED ?? 20261201);
const TOTAL = 10_000;
const CONCURRENCY = 24;

let dir: string;
let server: RunningServer;
let crashes: unknown[] = [];
let release = () => {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fss-fuzz-'));
  await mkdir(join(dir, 'root'));
  await writeFile(join(dir, 'root', 'a.png'), Buffer.alloc(1000, 7));
  server = await startTestServer(dir, [join(dir, 'root')]);
  ({ crashes, release } = trapCrashes());
});

afterAll(async () => {
  release();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const bytes = (r: Rand, n: number) => Buffer.from(Array.from({ length: n }, () => int(r, 256)));

function randomJson(r: Rand, depth = 0): unknown {
  switch (int(r, depth > 4 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return pick(r, [0, -1, 1e300, -0, 2 ** 53 + 1, 3.5, Number.MAX_SAFE_INTEGER]);
    case 2:
      return pick(r, [
        '',
        '/',
        '..',
        '/etc/passwd',
        'relative/x',
        '\u0000',
        'x'.repeat(5000),
        '%E0%A4%A',
        join(dir, 'root'),
      ]);
    case 3:
      return r() < 0.5;
    case 4:
      return bytes(r, int(r, 20)).toString('latin1');
    case 5:
      return Array.from({ length: int(r, 4) }, () => randomJson(r, depth + 1));
    default: {
      const keys = [
        'id',
        'channel',
        'params',
        'path',
        'dir',
        'stage',
        'options',
        'input',
        'output',
        'ffmpegPath',
        '__proto__',
        'constructor',
      ];
      return Object.fromEntries(Array.from({ length: int(r, 4) }, () => [pick(r, keys), randomJson(r, depth + 1)]));
    }
  }
}

const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'CONNECT',
  'BREW',
  'G\u0000T',
  '',
  'get',
];
const TARGETS = [
  '/',
  '/index.html',
  '/%E0%A4%A',
  '/%',
  '/%zz',
  '/%00',
  '//a:99999/ws',
  '//[::1/x',
  '/../../etc/passwd',
  '/..%2f..%2fetc%2fpasswd',
  '/file',
  '/file?path=',
  '/file?path=%E0%A4%A',
  '/file?path=/etc/passwd',
  '/file?path=relative.png',
  '*',
  'http://evil.example/',
  'a:99999',
  '/?token=',
  '/?token=%ff',
  '/ws',
  '/ws?x',
];

function fileTarget(): string {
  return `/file?path=${encodeURIComponent(join(dir, 'root', 'a.png'))}`;
}

/** One random HTTP request (raw bytes), with or without the token. */
function httpRequest(r: Rand): { bytes: Buffer; halfClose: boolean } {
  const kind = int(r, 10);
  if (kind === 0) return { bytes: bytes(r, 1 + int(r, 300)), halfClose: true }; // noise
  const method = pick(r, METHODS);
  let target = r() < 0.15 ? fileTarget() : pick(r, TARGETS);
  if (r() < 0.15) target += bytes(r, int(r, 10)).toString('latin1');
  if (r() < 0.05) target = `/${'a'.repeat(20_000)}`;
  const headers = ['Host: 127.0.0.1', 'Connection: close'];
  if (r() < 0.6)
    headers.push(
      pick(r, [
        `Authorization: Bearer ${server.token}`,
        `Cookie: fss_token=${server.token}`,
        'Authorization: Bearer x',
        'Cookie: fss_token=',
        'Cookie: ;;==;',
      ]),
    );
  if (r() < 0.2)
    headers.push(
      `Range: ${pick(r, ['bytes=0-10', 'bytes=-5', 'bytes=999999-', 'bytes=5-1', 'bytes=a-b', 'bytes=0-1,3-4', 'x'])}`,
    );
  if (r() < 0.05) headers.push(`X-Big: ${'b'.repeat(70_000)}`);
  if (r() < 0.05) headers.push('Bad header line without colon');
  if (r() < 0.05) headers.push(`Content-Length: ${pick(r, ['-1', 'abc', '99999999999999999999', '5'])}`);
  if (r() < 0.05) headers.push('Transfer-Encoding: chunked, identity');
  const version = pick(r, ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', '']);
  const truncated = r() < 0.05;
  const text = `${method} ${target} ${version}\r\n${headers.join('\r\n')}\r\n${truncated ? '' : '\r\n'}`;
  return { bytes: Buffer.from(text, 'latin1'), halfClose: truncated || kind === 1 };
}

/** One random upgrade request (raw bytes). */
function upgradeRequest(r: Rand): Buffer {
  const target = pick(r, [
    '/ws',
    '/ws',
    '//a:99999/ws',
    '/ws?x',
    '/ws/',
    '/WS',
    '/%E0%A4%A',
    '*',
    'ws',
    '/ws?token=' + server.token,
  ]);
  const headers = [
    `Host: ${pick(r, ['127.0.0.1', `127.0.0.1:${server.port}`, 'evil.example', ''])}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${pick(r, ['dGhlIHNhbXBsZSBub25jZQ==', 'short', ''])}`,
    `Sec-WebSocket-Version: ${pick(r, ['13', '13', '8', 'x'])}`,
  ];
  if (r() < 0.5) headers.push(`Cookie: fss_token=${pick(r, [server.token, 'wrong'])}`);
  if (r() < 0.5)
    headers.push(`Origin: ${pick(r, ['http://evil.example', `http://127.0.0.1:${server.port}`, 'null', ''])}`);
  return Buffer.from(`GET ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1');
}

/** A random message for a well-behaved client to send (may still be nonsense as JSON or as a request). */
function wsMessage(r: Rand): string | Buffer {
  switch (int(r, 8)) {
    case 0:
      return pick(r, ['null', '0', '[]', '"x"', 'true', '{}', '{"id":-1}', '{"id":1e400}', 'not json', '']);
    case 1:
      return '['.repeat(5000 + int(r, 50_000)) + ']'.repeat(int(r, 2) ? 0 : 5000);
    case 2:
      return bytes(r, 1 + int(r, 200));
    default: {
      const channel = pick(r, [...Object.keys(requestSchemas), 'nope', '__proto__', 'constructor', 'toString']);
      // settings:set and project:create write (to temp folders here); keep them but with junk params.
      return JSON.stringify({ id: int(r, 1e6), channel, params: randomJson(r) });
    }
  }
}

/** A random raw frame sequence, mostly invalid (each on its own connection: the server closes on a violation). */
function rawFrames(r: Rand): Buffer {
  const text = Buffer.from('{"id":1,"channel":"app:info","params":{}}');
  switch (int(r, 10)) {
    case 0:
      return frame(pick(r, [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]), bytes(r, int(r, 50)));
    case 1:
      return frame(0x1, Buffer.from([0x7b, 0xff, 0xfe, 0x80, 0xc0]));
    case 2:
      return frame(0x1, text, { unmasked: true });
    case 3:
      return frame(0x1, text, { rsv: 1 + int(r, 7) });
    case 4:
      return Buffer.concat([frame(0x1, text.subarray(0, 10), { fin: false }), frame(0x0, text.subarray(10))]);
    case 5:
      return frame(0x0, text); // continuation without a start
    case 6:
      return frame(0x9, bytes(r, 200)); // control frame over 125 bytes
    case 7:
      return frame(0x1, Buffer.alloc(64), { declaredLength: 1n << BigInt(21 + int(r, 40)) }); // over maxPayload
    case 8:
      return frame(0x8, Buffer.from([0x03, 0xe7 + int(r, 20)])); // close with an odd code
    default:
      return Buffer.concat([frame(0x2, bytes(r, 100)), bytes(r, int(r, 30))]);
  }
}

function connectClient(): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers: { cookie: `fss_token=${server.token}` } });
    ws.once('open', () => {
      ws.on('error', () => undefined); // a close for a violation (1009...) is expected here
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

async function pool(n: number, jobs: number, run: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < jobs) await run(next++);
    }),
  );
}

describe('server fuzz', () => {
  it(`survives ${TOTAL} random and malformed requests and frames (seed ${SEED})`, async () => {
    const r = prng(SEED);
    const statuses = new Map<number | 'none', number>();
    const serverErrors: string[] = [];
    const count = (s: number | undefined) => statuses.set(s ?? 'none', (statuses.get(s ?? 'none') ?? 0) + 1);
    const plan = { http: 4500, upgrade: 1500, messages: 3000, frames: 1000 };
    expect(Object.values(plan).reduce((a, b) => a + b)).toBe(TOTAL);

    // Cases are drawn up front, in order, so that a seed always gives the same traffic.
    const httpCases = Array.from({ length: plan.http }, () => httpRequest(r));
    const upgradeCases = Array.from({ length: plan.upgrade }, () => upgradeRequest(r));
    const messages = Array.from({ length: plan.messages }, () => wsMessage(r));
    const frameCases = Array.from({ length: plan.frames }, () => rawFrames(r));

    await pool(CONCURRENCY, plan.http, async (i) => {
      const c = httpCases[i]!;
      const reply = await rawExchange(server.port, c.bytes, { halfClose: c.halfClose, timeoutMs: 10_000 });
      count(reply.status);
      if (reply.status !== undefined && reply.status >= 500) serverErrors.push(`http #${i}: ${reply.status}`);
    });
    await pool(CONCURRENCY, plan.upgrade, async (i) => {
      const reply = await rawExchange(server.port, upgradeCases[i]!, { timeoutMs: 10_000 });
      count(reply.status);
      if (reply.status !== undefined && reply.status >= 500) serverErrors.push(`upgrade #${i}: ${reply.status}`);
    });

    // Messages through well-behaved clients; a client the server closed (1009 for a big one) is replaced.
    let ws = await connectClient();
    for (let i = 0; i < messages.length; i++) {
      if (ws.readyState !== WebSocket.OPEN) ws = await connectClient();
      const m = messages[i]!;
      const answer = await new Promise<string | undefined>((resolve) => {
        const done = (v: string | undefined) => {
          ws.off('message', onMessage);
          ws.off('close', onClose);
          resolve(v);
        };
        const onMessage = (d: WebSocket.RawData) => done(d.toString());
        const onClose = () => done(undefined);
        ws.on('message', onMessage);
        ws.on('close', onClose);
        ws.send(m, { binary: Buffer.isBuffer(m) && i % 2 === 0 });
      });
      if (answer?.includes('"code":"internal"')) serverErrors.push(`message #${i}: ${answer.slice(0, 300)}`);
    }
    ws.close();

    await pool(8, plan.frames, async (i) => {
      const raw = await rawWebSocket(server.port, '/ws', { cookie: `fss_token=${server.token}` });
      count(raw.status);
      raw.socket.write(frameCases[i]!);
      await raw.closed(300);
      raw.socket.destroy();
    });

    expect(crashes, 'uncaught errors in the server').toEqual([]);
    expect(serverErrors, 'answers that were server errors').toEqual([]);
    // Most requests get an answer (Node may close on garbage without one); a tally for the log.
    console.log(`fuzz seed ${SEED}: statuses ${JSON.stringify(Object.fromEntries(statuses))}`);

    // A normal client still works afterwards, over HTTP and over the WebSocket.
    expect((await fetch(server.url, { headers: { cookie: `fss_token=${server.token}` } })).status).toBe(200);
    const ok = await connectClient();
    const info = await new Promise<{ ok: boolean }>((resolve) => {
      ok.once('message', (d) => resolve(JSON.parse(d.toString())));
      ok.send(JSON.stringify({ id: 1, channel: 'app:info', params: {} }));
    });
    ok.close();
    expect(info.ok).toBe(true);
  }, 180_000);
});
