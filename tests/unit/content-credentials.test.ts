/**
 * C2PA Content Credentials on image outputs (convert/content-credentials.ts): a signed manifest that validates
 * (claim signature, data hash) with the "trained algorithmic media" source type, a signer certificate that meets
 * the C2PA certificate profile, an identity made once per user, and tampering detected. On a real photo of the test data.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../src-shared/errors';
import { ContentCredentials, DIGITAL_SOURCE_TYPE, readContentCredentials } from '../../src-main/engine/convert/content-credentials';
import { hasTestdata, scratchDir, td } from '../helpers/testdata';

let dir = '';
beforeAll(async () => {
  dir = await scratchDir('c2pa');
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const what = { title: 'indoor_029.png', description: 'Faces replaced by Faceswap Studio (face swap): synthetic media' };

describe.skipIf(!hasTestdata)('content credentials', () => {
  it('signs a PNG and a JPEG: intact, labelled as trained algorithmic media, by a signer certificate of the C2PA profile', async () => {
    const cc = await ContentCredentials.open(join(dir, 'id'));
    expect(cc.signedBy).toMatch(/^CN=Faceswap Studio \(/);
    for (const file of [td('landmarks', '300w', 'indoor_029.png'), td('faces', 'multi2_obama-biden_fr-two_people.jpg')]) {
      const signed = await cc.signImage(await readFile(file), what);
      const read = await readContentCredentials(signed);
      expect(read, file).toBeDefined();
      expect(read!.intact, read!.status.join(' ')).toBe(true);
      // The certificate meets the C2PA signer profile (with no trust list set, c2pa-ts reports it as trusted).
      expect(read!.status).toContain('signingCredential.trusted:ok');
      expect(read!.generator).toMatch(/^Faceswap Studio \d/);
      expect(read!.actions).toEqual([{ action: 'c2pa.created', digitalSourceType: DIGITAL_SOURCE_TYPE, softwareAgent: { name: 'Faceswap Studio', version: expect.any(String) } }]);
      // One changed byte in the image data: the data hash no longer matches.
      const tampered = Uint8Array.from(signed);
      tampered[tampered.length - 100] = (tampered[tampered.length - 100]! + 1) % 256;
      expect((await readContentCredentials(tampered))?.intact).toBe(false);
    }
    expect(await readContentCredentials(await readFile(td('landmarks', '300w', 'indoor_029.png')))).toBeUndefined();
  });

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
