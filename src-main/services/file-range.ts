/**
 * Byte ranges of the user's media (RFC 9110 §14), for the browser-mode `/file` route and Electron's `fss-file:`
 * protocol alike: a `<video>` element can only seek in a file that is served in ranges.
 *
 * Hand-written rather than a dependency: a media element asks for one `bytes=` range at a time, and that part
 * of the grammar is a few lines; multiple ranges (multipart/byteranges) are not served, which RFC 9110 allows
 * (the whole file is sent instead).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

/** Inclusive byte positions, as in `Content-Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The range a `Range` header asks of a file of `size` bytes: a range, `'unsatisfiable'` (answer 416), or
 * undefined when the whole file is to be sent (no header, another unit, several ranges, an invalid spec).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last N bytes.
    const n = Number(last);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined; // an invalid spec is ignored (RFC 9110 §14.1.1)
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

export interface RangedReply {
  status: 200 | 206 | 416;
  headers: Record<string, string>;
  /** The bytes to send; undefined for a 416 (and for HEAD, which the caller decides). */
  range?: ByteRange;
}

/** Status and headers of the answer to a (possibly ranged) request for a file of `size` bytes and `type`. */
export function planRangedReply(rangeHeader: string | undefined, size: number, type: string): RangedReply {
  const base = {
    'Content-Type': type,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  };
  const r = parseRange(rangeHeader, size);
  if (r === 'unsatisfiable')
    return { status: 416, headers: { ...base, 'Content-Range': `bytes */${size}`, 'Content-Length': '0' } };
  if (!r)
    return {
      status: 200,
      headers: { ...base, 'Content-Length': String(size) },
      ...(size > 0 ? { range: { start: 0, end: size - 1 } } : {}),
    };
  return {
    status: 206,
    headers: {
      ...base,
      'Content-Range': `bytes ${r.start}-${r.end}/${size}`,
      'Content-Length': String(r.end - r.start + 1),
    },
    range: r,
  };
}

/** A stream of the reply's bytes (empty when there are none). */
export function openRange(file: string, reply: RangedReply): Readable | undefined {
  return reply.range ? createReadStream(file, { start: reply.range.start, end: reply.range.end }) : undefined;
}
