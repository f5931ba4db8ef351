/**
 * PNG text chunks for the aligned faces. sharp can read PNG text (metadata().comments) but cannot write an
 * arbitrary one, and the npm helpers (png-chunks-extract/-encode + png-chunk-text) would be three more
 * dependencies for what is one chunk of bytes: keyword, NUL, Latin-1 text, framed by length and CRC-32
 * (PNG spec section 11.3.4.3, https://www.w3.org/TR/png/#11tEXt). The text here is JSON with every non-ASCII
 * character escaped, so it is plain ASCII.
 */
import { crc32 } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** JSON with non-ASCII characters escaped as \uXXXX (valid JSON, Latin-1 safe). */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Returns `png` with a tEXt chunk `keyword` = `text` inserted right after IHDR. */
export function addPngText(png: Buffer, keyword: string, text: string): Buffer {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  if (!/^[\x20-\x7e]{1,79}$/.test(keyword)) throw new Error('bad PNG text keyword');
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) throw new Error('PNG tEXt must be Latin-1');
  const ihdrLen = png.readUInt32BE(8);
  const cut = 8 + 12 + ihdrLen;
  const c = chunk(
    'tEXt',
    Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]),
  );
  return Buffer.concat([png.subarray(0, cut), c, png.subarray(cut)]);
}

/** All tEXt chunks of a PNG as keyword -> text. */
export function readPngText(png: Buffer): Record<string, string> {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG');
  const out: Record<string, string> = {};
  let o = 8;
  while (o + 12 <= png.length) {
    const len = png.readUInt32BE(o);
    const type = png.toString('latin1', o + 4, o + 8);
    if (type === 'tEXt') {
      const data = png.subarray(o + 8, o + 8 + len);
      const z = data.indexOf(0);
      if (z > 0) out[data.toString('latin1', 0, z)] = data.toString('latin1', z + 1);
    }
    if (type === 'IEND') break;
    o += 12 + len;
  }
  return out;
}
