/**
 * C2PA Content Credentials on converted images: a signed manifest inside each PNG/JPEG saying it was made with
 * a trained algorithm (IPTC digital source type `compositeWithTrainedAlgorithmicMedia`) by Faceswap Studio, bound
 * to the file's bytes by a data hash. Written with @trustnxt/c2pa-ts (pure TypeScript).
 *
 * What a library can do here (checked 2026-11): @contentauth/c2pa-node downloads its native library from GitHub
 * when installed (not reachable from our build machines); @trustnxt/c2pa-ts 0.9.4, the latest published, signs
 * JPEG, PNG and HEIC, but its BMFF writer accepts only the heic/mif1 brands and does not move an MP4's chunk
 * offsets (stco/co64) when it inserts the manifest box. So MP4 outputs carry the container label and the
 * provenance sidecar, and image outputs also carry Content Credentials.
 *
 * The signing identity: a local CA and a signer certificate it issued (ECDSA P-256; the signer has
 * digitalSignature and the documentSigning/emailProtection EKUs of the C2PA certificate profile), made once per
 * user in `<config>/content-credentials/` (private keys 0600). Validators find the signature valid and the signer
 * untrusted until the user trusts that CA, or replaces `signer.pem`, `signer.key` and `ca.pem` there with a
 * certificate from a CA on the C2PA trust list.
 */
import { webcrypto } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { JPEG, PNG } from '@trustnxt/c2pa-ts/asset';
import { CoseAlgorithmIdentifier, LocalSigner } from '@trustnxt/c2pa-ts/cose';
import { SuperBox } from '@trustnxt/c2pa-ts/jumbf';
import { ActionAssertion, ActionType, AssertionLabels, DataHashAssertion, DigitalSourceType, ManifestStore } from '@trustnxt/c2pa-ts/manifest';
import { UserError } from '../../../src-shared/errors';
import { appName, appVersion, configDir } from '../app-info';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
const YEAR_MS = 365.25 * 24 * 3600 * 1000;

export const DIGITAL_SOURCE_TYPE = DigitalSourceType.CompositeWithTrainedAlgorithmicMedia;

/** The folder of the signing identity. */
export function credentialsDir(): string {
  return join(configDir(), 'content-credentials');
}

export class ContentCredentials {
  private constructor(
    private readonly signer: LocalSigner,
    /** Subject of the signing certificate (shown in the provenance sidecar). */
    readonly signedBy: string,
  ) {}

  /** Loads the signing identity from `dir`, making it first when there is none. */
  static async open(dir = credentialsDir()): Promise<ContentCredentials> {
    const files = { cert: join(dir, 'signer.pem'), key: join(dir, 'signer.key'), ca: join(dir, 'ca.pem') };
    const text = await Promise.all([files.cert, files.key, files.ca].map((f) => readFile(f, 'utf8').catch(() => undefined)));
    if (text.some((t) => t === undefined)) await createIdentity(dir);
    const [certPem, keyPem, caPem] = await Promise.all([files.cert, files.key, files.ca].map((f) => readFile(f, 'utf8')));
    let cert: x509.X509Certificate;
    let ca: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(certPem as string);
      ca = new x509.X509Certificate(caPem as string);
    } catch (e) {
      throw new UserError('bad-file', `${dir}: signer.pem or ca.pem is not a PEM certificate (${(e as Error).message})`, dir);
    }
    const alg = cert.publicKey.algorithm as { name: string; namedCurve?: string };
    const cose = alg.name === 'ECDSA' && alg.namedCurve === 'P-256' ? CoseAlgorithmIdentifier.ES256 : alg.name === 'ECDSA' && alg.namedCurve === 'P-384' ? CoseAlgorithmIdentifier.ES384 : undefined;
    if (cose === undefined) throw new UserError('bad-file', `${files.cert}: only ECDSA P-256 or P-384 signing certificates are supported`, files.cert);
    const key = pemBody(keyPem as string);
    if (!key) throw new UserError('bad-file', `${files.key}: not a PKCS#8 PEM private key`, files.key);
    return new ContentCredentials(new LocalSigner(key, cose, cert, [ca]), cert.subject);
  }

  /** `image` (PNG or JPEG bytes) with a signed C2PA manifest embedded. */
  async signImage(image: Uint8Array, o: { title: string; description: string }): Promise<Uint8Array> {
    const asset = PNG.canRead(image) ? new PNG(image) : JPEG.canRead(image) ? new JPEG(image) : undefined;
    if (!asset) throw new Error('content credentials: only PNG and JPEG images can be signed');
    const store = new ManifestStore();
    const manifest = store.createManifest({ assetFormat: asset.mimeType, instanceID: `xmp:iid:${crypto.randomUUID()}`, defaultHashAlgorithm: 'SHA-256', signer: this.signer });
    const claim = manifest.claim as NonNullable<typeof manifest.claim>;
    claim.claimGeneratorName = appName;
    claim.claimGeneratorVersion = appVersion;
    claim.title = o.title;
    const actions = new ActionAssertion();
    actions.label = AssertionLabels.actionsV2;
    actions.actions = [
      {
        action: ActionType.C2paCreated,
        digitalSourceType: DIGITAL_SOURCE_TYPE,
        description: o.description,
        softwareAgent: { name: appName, version: appVersion },
      },
    ];
    manifest.addAssertion(actions);
    const hash = DataHashAssertion.create('SHA-256');
    manifest.addAssertion(hash);
    await asset.ensureManifestSpace(store.measureSize());
    await hash.updateWithAsset(asset);
    await manifest.sign(this.signer);
    await asset.writeManifestJUMBF(store.getBytes());
    return asset.getDataRange();
  }
}

export interface ReadCredentials {
  /** Every validation status code, `code:ok|failed`. */
  status: string[];
  /** The claim signature verifies and the data hash matches the file (trust in the signer aside). */
  intact: boolean;
  generator: string;
  actions: { action: string; digitalSourceType?: string; softwareAgent?: { name: string; version?: string } }[];
}

/** Reads and validates the Content Credentials of a PNG/JPEG; undefined when it carries none. */
export async function readContentCredentials(bytes: Uint8Array): Promise<ReadCredentials | undefined> {
  const image = new Uint8Array(bytes);
  const asset = PNG.canRead(image) ? new PNG(image) : JPEG.canRead(image) ? new JPEG(image) : undefined;
  const jumbf = asset?.getManifestJUMBF();
  if (!asset || !jumbf) return undefined;
  const store = ManifestStore.read(SuperBox.fromBuffer(new Uint8Array(jumbf)));
  const result = await store.validate(asset);
  const status = result.statusEntries.map((e) => `${e.code}:${e.success ? 'ok' : 'failed'}`);
  const ok = (code: string) => status.includes(`${code}:ok`);
  const manifest = store.getActiveManifest();
  const actions = (manifest?.assertions?.assertions.find((a) => a instanceof ActionAssertion) as ActionAssertion | undefined)?.actions ?? [];
  const failedOtherThanTrust = status.filter((s) => s.endsWith(':failed') && !s.startsWith('signingCredential.untrusted'));
  return {
    status,
    intact: ok('claimSignature.validated') && ok('assertion.dataHash.match') && failedOtherThanTrust.length === 0,
    generator: `${manifest?.claim?.claimGeneratorName ?? ''} ${manifest?.claim?.claimGeneratorVersion ?? ''}`.trim(),
    actions: actions.map((a) => ({ action: a.action, ...(a.digitalSourceType ? { digitalSourceType: a.digitalSourceType } : {}), ...(a.softwareAgent ? { softwareAgent: a.softwareAgent } : {}) })),
  };
}

function pemBody(pem: string): Uint8Array | undefined {
  const m = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem);
  return m ? new Uint8Array(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64')) : undefined;
}

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

/**
 * A local CA (20 years) and a signer certificate it issues (10 years), made in a temporary sibling folder that is
 * renamed into place, so a concurrent conversion or a crash never leaves a key beside another key's certificate.
 */
async function createIdentity(dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true, mode: 0o700 });
  try {
    const now = Date.now();
    const host = hostname().replace(/[,=+<>#;"\\]/g, ' ');
    const caKeys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=${appName} local CA (${host}), O=${appName}`,
      notBefore: new Date(now - 24 * 3600 * 1000),
      notAfter: new Date(now + 20 * YEAR_MS),
      keys: caKeys,
      signingAlgorithm: EC_P256,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${appName} (${host}), O=${appName}`,
      issuer: ca.subject,
      notBefore: new Date(now - 24 * 3600 * 1000),
      notAfter: new Date(now + 10 * YEAR_MS),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: EC_P256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([DOCUMENT_SIGNING, x509.ExtendedKeyUsage.emailProtection]),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    // The CA's key is not kept: it issued this one certificate and nothing else needs it.
    await writeFile(join(tmp, 'signer.key'), toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)), { mode: 0o600 });
    await writeFile(join(tmp, 'ca.pem'), ca.toString('pem'));
    await writeFile(join(tmp, 'signer.pem'), cert.toString('pem'));
    await rm(dir, { recursive: true, force: true }); // an incomplete identity (all three files are needed)
    await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Another conversion made one at the same moment: use that one.
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
