/**
 * Raw HTTP and WebSocket traffic over node:net, for requests no well-behaved client library sends (bad request
 * lines, invalid frames). Used by the server's security and fuzz tests; 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawReply {
  /** HTTP status of the first response line, or undefined when the server closed without one. */
  status?: number;
  /** Everything the server sent before it closed (or before the timeout). */
  data: Buffer;
  timedOut: boolean;
}

/**
 * Sends `bytes` on a fresh connection and resolves with the answer's status once its header block is in, or
 * when the server closes. `halfClose` ends our side after sending (an incomplete request then fails at once
 * instead of waiting for the server's header timeout; Node aborts a complete request whose client half-closed).
 */
export function rawExchange(
  port: number,
  bytes: Buffer | string,
  o: { halfClose?: boolean; timeoutMs?: number } = {},
): Promise<RawReply> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: '127.0.0.1', port });
    let done = false;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      resolve({ status: statusOf(data), data, timedOut });
    };
    const timer = setTimeout(() => finish(true), o.timeoutMs ?? 5000);
    socket.on('data', (d) => {
      chunks.push(d);
      if (Buffer.concat(chunks).includes('\r\n\r\n')) finish(false);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('connect', () => {
      socket.write(bytes);
      if (o.halfClose) socket.end();
    });
  });
}

export function statusOf(data: Buffer): number | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(data.subarray(0, 32).toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/** One client frame (masked, as RFC 6455 requires of clients unless `unmasked`). */
export function frame(
  opcode: number,
  payload: Buffer,
  o: { fin?: boolean; rsv?: number; unmasked?: boolean; declaredLength?: bigint } = {},
): Buffer {
  const len = o.declaredLength ?? BigInt(payload.length);
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | (opcode & 0x0f)];
  const mask = o.unmasked ? 0 : 0x80;
  let ext = Buffer.alloc(0);
  if (len < 126n) head.push(mask | Number(len));
  else if (len < 65536n) {
    head.push(mask | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len));
  } else {
    head.push(mask | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(len);
  }
  if (o.unmasked) return Buffer.concat([Buffer.from(head), ext, payload]);
  const key = randomBytes(4);
  const body = Buffer.from(payload.map((b, i) => b ^ (key[i % 4] ?? 0)));
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

export interface RawWs {
  socket: Socket;
  /** HTTP status of the handshake answer (101 when upgraded). */
  status?: number;
  /** Bytes received after the handshake. */
  received(): Buffer;
  /** Resolves when the server closes the connection (or after `ms`), with what it sent. */
  closed(ms: number): Promise<Buffer>;
}

/** Opens a WebSocket by hand (handshake over net), so that invalid frames can be sent afterwards. */
export function rawWebSocket(port: number, path: string, headers: Record<string, string>): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let status: number | undefined;
    let headerDone = false;
    let ended = false;
    const waiters: Array<() => void> = [];
    const onEnd = () => {
      ended = true;
      for (const w of waiters.splice(0)) w();
      if (!headerDone) reject(new Error('closed during the handshake'));
    };
    socket.on('error', onEnd);
    socket.on('close', onEnd);
    socket.on('data', (d) => {
      chunks.push(d);
      if (headerDone) return;
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      headerDone = true;
      status = statusOf(all);
      chunks.length = 0;
      if (all.length > end + 4) chunks.push(all.subarray(end + 4));
      resolve({
        socket,
        status,
        received: () => Buffer.concat(chunks),
        closed: (ms) =>
          new Promise((ok) => {
            if (ended) return ok(Buffer.concat(chunks));
            const t = setTimeout(() => {
              socket.destroy();
              ok(Buffer.concat(chunks));
            }, ms);
            waiters.push(() => {
              clearTimeout(t);
              ok(Buffer.concat(chunks));
            });
          }),
      });
    });
    socket.on('connect', () => {
      const lines = [
        `GET ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  });
}

/** The close code of the first close frame the server sent, if any. */
export function closeCode(data: Buffer): number | undefined {
  let i = 0;
  while (i + 2 <= data.length) {
    const opcode = (data[i] ?? 0) & 0x0f;
    let len = (data[i + 1] ?? 0) & 0x7f;
    let p = i + 2;
    if (len === 126) {
      len = data.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(data.readBigUInt64BE(p));
      p += 8;
    }
    if (opcode === 0x8) return len >= 2 && p + 2 <= data.length ? data.readUInt16BE(p) : 1005;
    i = p + len;
  }
  return undefined;
}

/** A small seeded PRNG (mulberry32), so that a failing fuzz case can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
