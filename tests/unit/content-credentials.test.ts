/**
 * C2PA Content Credentials (convert/content-credentials.ts), checked by c2pa-rs itself (the reference
 * implementation, as WebAssembly): on a real clip and real photos of the test data, the manifest validates
 * (claim signature, BMFF or data hash) with the "trained algorithmic media" source type, the only failure is the
 * signer not being on a trust list, the media itself is unchanged, tampering is detected, and the signing
 * identity is made once per user.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import {
  ContentCredentials,
  credentialFormat,
  DIGITAL_SOURCE_TYPE,
  readContentCredentials,
} from '../../src-main/engine/convert/content-credentials';
import { decodeFrames } from '../../src-main/engine/media/decode';
import { hasTestdata, scratchDir, td, videos } from '../helpers/testdata';

let dir = '';
beforeAll(async () => {
  dir = await scratchDir('c2pa');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const what = { title: 'swapped', description: 'Faces replaced by Faceswap Studio (face swap): synthetic media' };

async function frameHashes(path: string): Promise<string[]> {
  const { createHash } = await import('node:crypto');
  const out: string[] = [];
  for await (const f of decodeFrames(path)) out.push(createHash('sha1').update(f.data).digest('hex'));
  return out;
}

describe.skipIf(!hasTestdata)('content credentials', () => {
  it(
    'signs an MP4, a PNG and a JPEG: valid for c2pa-rs, labelled as trained algorithmic media, signer untrusted',
    { timeout: 60_000 },
    async () => {
      const cc = await ContentCredentials.open(join(dir, 'id'));
      expect(cc.signedBy).toMatch(/^CN=Faceswap Studio \(/);
      for (const file of [
        videos.personA,
        td('landmarks', '300w', 'indoor_029.png'),
        td('faces', 'multi2_obama-biden_fr-two_people.jpg'),
      ]) {
        const format = credentialFormat(file)!;
        const original = await readFile(file);
        expect(await readContentCredentials(original, format), file).toBeUndefined();
        const signed = await cc.sign(original, format, what);
        const read = (await readContentCredentials(signed, format))!;
        expect(read.intact, `${file}: ${read.failures.join(' ')}`).toBe(true);
        expect(read.state).toBe('Valid');
        expect(read.failures).toEqual(['signingCredential.untrusted']);
        expect(read.successes).toContain(
          format === 'video/mp4' ? 'assertion.bmffHash.match' : 'assertion.dataHash.match',
        );
        expect(read.generator).toMatch(/^Faceswap Studio \d/);
        expect(read.signedBy).toMatch(/^Faceswap Studio \(/);
        expect(read.actions).toEqual([
          {
            action: 'c2pa.created',
            digitalSourceType: DIGITAL_SOURCE_TYPE,
            softwareAgent: { name: 'Faceswap Studio', version: expect.any(String) },
          },
        ]);
        // One changed byte of the media data: the hash binding no longer matches.
        const tampered = Uint8Array.from(signed);
        tampered[tampered.length - 200] = (tampered[tampered.length - 200]! + 1) % 256;
        expect((await readContentCredentials(tampered, format))?.intact).toBe(false);
        if (format === 'video/mp4') {
          // The signed video decodes to exactly the same frames.
          const path = join(dir, 'signed.mp4');
          await writeFile(path, signed);
          expect(await frameHashes(path)).toEqual(await frameHashes(file));
        }
      }
      expect(credentialFormat('x.mkv')).toBeUndefined();
    },
  );

  it('makes the identity once (key 0600), remakes an incomplete one, and names a broken certificate file', async () => {
    const id = join(dir, 'id2');
    const a = await ContentCredentials.open(id);
    const certA = await readFile(join(id, 'signer.pem'), 'utf8');
    expect((await stat(join(id, 'signer.key'))).mode & 0o777).toBe(0o600);
    await ContentCredentials.open(id);
    expect(await readFile(join(id, 'signer.pem'), 'utf8')).toBe(certA);
    await rm(join(id, 'ca.pem'));
    const b = await ContentCredentials.open(id);
    expect(await readFile(join(id, 'signer.pem'), 'utf8')).not.toBe(certA);
    expect(b.signedBy).toBe(a.signedBy);
    await writeFile(join(id, 'signer.pem'), 'not a certificate');
    const e = await ContentCredentials.open(id).catch((x: unknown) => x);
    expect(isUserError(e)).toBe(true);
    expect((e as Error).message).toContain(id);
  });
});
