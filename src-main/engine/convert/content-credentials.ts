/**
 * C2PA Content Credentials on converted outputs (MP4 and MOV videos, PNG and JPEG images): a signed manifest
 * inside the file saying it was made with a trained algorithm (IPTC digital source type
 * `compositeWithTrainedAlgorithmicMedia`) by Faceswap Studio, bound to the file's bytes by a hash (BMFF hash for
 * video, data hash for images). Written and read with @contentauth/c2pa-wasm: c2pa-rs, the reference
 * implementation, built as WebAssembly. (@contentauth/c2pa-node downloads a native library from GitHub when
 * installed, which our build machines cannot reach; @trustnxt/c2pa-ts 0.9.4 cannot write MP4.)
 *
 * The signing identity: a local CA and a signer certificate it issued (ECDSA P-256; the signer has
 * digitalSignature and the documentSigning/emailProtection EKUs of the C2PA certificate profile), made once per
 * user in `<config>/content-credentials/` (private key 0600). Validators find the manifest valid and the signer
 * untrusted until the user trusts that CA, or replaces `signer.pem`, `signer.key` and `ca.pem` there with a
 * certificate from a CA on the C2PA trust list.
 */
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { extname, join } from 'node:path';
import { initSync, WasmBuilder, WasmReader } from '@contentauth/c2pa-wasm';
import * as x509 from '@peculiar/x509';
import { encode as cbor } from 'cborg';
import { UserError } from '../../../src-shared/errors';
import { appName, appVersion, configDir } from '../app-info';
import { writeFileAtomicSafe } from '../util/atomic-write';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
const YEAR_MS = 365.25 * 24 * 3600 * 1000;
/** Bytes c2pa-rs reserves for the signature box; the COSE structure is padded to exactly this size. */
const SIGNATURE_RESERVE = 10_000;
/** The whole file is held in memory (twice, inside the WebAssembly heap): larger outputs are left unsigned. */
export const MAX_SIGNED_BYTES = 1.5 * 1024 ** 3;

export const DIGITAL_SOURCE_TYPE =
  'http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia';

const FORMATS: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/mp4',
  '.mov': 'video/quicktime',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
};

/** The C2PA format of a file by its extension; undefined where C2PA has no binding (Matroska). */
export function credentialFormat(path: string): string | undefined {
  return FORMATS[extname(path).toLowerCase()];
}

/** The folder of the signing identity. */
export function credentialsDir(): string {
  return join(configDir(), 'content-credentials');
}

let wasmReady = false;
function ensureWasm(): void {
  if (wasmReady) return;
  installFileReaderSync();
  const require = createRequire(import.meta.url);
  initSync({ module: readFileSync(require.resolve('@contentauth/c2pa-wasm/c2pa.wasm')) });
  wasmReady = true;
}

/** A Blob over bytes already in memory, whose slices the FileReaderSync below can read synchronously. */
class BytesBlob extends Blob {
  readonly data: Uint8Array;
  constructor(data: Uint8Array) {
    super([]);
    this.data = data;
    Object.defineProperty(this, 'size', { value: data.length });
  }
  override slice(start = 0, end = this.data.length): Blob {
    return new BytesBlob(this.data.subarray(start, end));
  }
}

/**
 * c2pa-wasm's signer reads its source Blob with the browser-only FileReaderSync, which Node lacks. Hand-written
 * because no package provides it for Node: the only Blobs it is given are BytesBlobs, whose bytes are at hand.
 */
function installFileReaderSync(): void {
  const g = globalThis as { FileReaderSync?: unknown };
  if (g.FileReaderSync) return;
  g.FileReaderSync = class {
    readAsArrayBuffer(blob: Blob): ArrayBuffer {
      if (!(blob instanceof BytesBlob)) throw new Error('FileReaderSync (Node shim) reads in-memory blobs only');
      return blob.data.slice().buffer;
    }
  };
}

// COSE_Sign1 (RFC 9052) with the signer's chain in the protected header, as C2PA requires. c2pa-wasm leaves the
// whole COSE structure to the JS signer ("direct COSE handling"); cborg encodes it.
const COSE_SIGN1_TAG = 0xd2; // CBOR tag 18 (major type 6) in its one-byte form

export class ContentCredentials {
  private constructor(
    private readonly key: webcrypto.CryptoKey,
    private readonly chain: Uint8Array[],
    private readonly alg: { cose: number; name: 'es256' | 'es384'; hash: 'SHA-256' | 'SHA-384' },
    /** Subject of the signing certificate (shown in the provenance sidecar). */
    readonly signedBy: string,
  ) {}

  /** Loads the signing identity from `dir`, making it first when there is none (or an incomplete one). */
  static async open(dir = credentialsDir()): Promise<ContentCredentials> {
    const files = { cert: join(dir, 'signer.pem'), key: join(dir, 'signer.key'), ca: join(dir, 'ca.pem') };
    const text = await Promise.all(
      [files.cert, files.key, files.ca].map((f) => readFile(f, 'utf8').catch(() => undefined)),
    );
    if (text.some((t) => t === undefined)) await createIdentity(dir);
    const [certPem, keyPem, caPem] = await Promise.all(
      [files.cert, files.key, files.ca].map((f) => readFile(f, 'utf8')),
    );
    let cert: x509.X509Certificate;
    let ca: x509.X509Certificate;
    try {
      cert = new x509.X509Certificate(certPem as string);
      ca = new x509.X509Certificate(caPem as string);
    } catch (e) {
      throw new UserError(
        'bad-file',
        `${dir}: signer.pem or ca.pem is not a PEM certificate (${(e as Error).message})`,
        dir,
      );
    }
    const curve = (cert.publicKey.algorithm as { name: string; namedCurve?: string }).namedCurve;
    const alg =
      curve === 'P-256'
        ? ({ cose: -7, name: 'es256', hash: 'SHA-256' } as const)
        : curve === 'P-384'
          ? ({ cose: -35, name: 'es384', hash: 'SHA-384' } as const)
          : undefined;
    if (!alg)
      throw new UserError(
        'bad-file',
        `${files.cert}: only ECDSA P-256 or P-384 signing certificates are supported`,
        files.cert,
      );
    const der = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(keyPem as string)?.[1];
    let key: webcrypto.CryptoKey;
    try {
      key = await webcrypto.subtle.importKey(
        'pkcs8',
        Buffer.from((der ?? '').replace(/\s+/g, ''), 'base64'),
        { name: 'ECDSA', namedCurve: curve },
        false,
        ['sign'],
      );
    } catch {
      throw new UserError('bad-file', `${files.key}: not a PKCS#8 PEM private key for ${curve}`, files.key);
    }
    return new ContentCredentials(key, [new Uint8Array(cert.rawData), new Uint8Array(ca.rawData)], alg, cert.subject);
  }

  /** `bytes` of `format` (a C2PA MIME type, see credentialFormat) with a signed manifest embedded. */
  async sign(bytes: Uint8Array, format: string, o: { title: string; description: string }): Promise<Uint8Array> {
    ensureWasm();
    const builder = WasmBuilder.fromJson(
      JSON.stringify({
        claim_generator_info: [{ name: appName, version: appVersion }],
        title: o.title,
        assertions: [
          {
            label: 'c2pa.actions.v2',
            data: {
              actions: [
                {
                  action: 'c2pa.created',
                  digitalSourceType: DIGITAL_SOURCE_TYPE,
                  description: o.description,
                  softwareAgent: { name: appName, version: appVersion },
                },
              ],
            },
          },
        ],
      }),
    );
    try {
      return await builder.sign(
        { sign: (claim) => this.cose(claim), reserveSize: SIGNATURE_RESERVE, alg: this.alg.name },
        [],
        format,
        new BytesBlob(bytes),
      );
    } finally {
      builder.free();
    }
  }

  /** Signs the file at `path` in place (temp file + rename): false, with the reason, where it cannot be signed. */
  async signFile(
    path: string,
    o: { title: string; description: string },
  ): Promise<{ signed: true } | { signed: false; reason: string }> {
    const format = credentialFormat(path);
    if (!format) return { signed: false, reason: `C2PA has no binding for ${extname(path) || 'this file type'}` };
    const bytes = await readFile(path);
    if (bytes.length > MAX_SIGNED_BYTES)
      return { signed: false, reason: `too large to sign in memory (${(bytes.length / 1024 ** 3).toFixed(1)} GiB)` };
    await writeFileAtomicSafe(path, await this.sign(bytes, format, o));
    return { signed: true };
  }

  private async cose(claim: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    const prot = cbor(
      new Map<number, unknown>([
        [1, this.alg.cose],
        [33, this.chain],
      ]),
    );
    const toSign = cbor(['Signature1', prot, new Uint8Array(0), claim]);
    const sig = new Uint8Array(await webcrypto.subtle.sign({ name: 'ECDSA', hash: this.alg.hash }, this.key, toSign));
    // The signature box was reserved at SIGNATURE_RESERVE bytes: fill it exactly with the "pad" header.
    const build = (n: number) => {
      const body = cbor([prot, new Map([['pad', new Uint8Array(n)]]), null, sig]);
      const out = new Uint8Array(body.length + 1);
      out[0] = COSE_SIGN1_TAG;
      out.set(body, 1);
      return out;
    };
    let n = Math.max(0, SIGNATURE_RESERVE - build(0).length);
    while (n > 0 && build(n).length > SIGNATURE_RESERVE) n--;
    return build(n);
  }
}

export interface ReadCredentials {
  /** c2pa-rs's validation state: Invalid, Valid (signer not on a trust list) or Trusted. */
  state: string;
  /** Codes of the failed checks. */
  failures: string[];
  /** Codes of the passed checks. */
  successes: string[];
  /** The claim signature verifies and the hash binding matches the file (trust in the signer aside). */
  intact: boolean;
  generator: string;
  signedBy: string;
  actions: { action: string; digitalSourceType?: string; softwareAgent?: { name: string; version?: string } }[];
}

/** Reads and validates the Content Credentials of a file's bytes; undefined when it carries none. */
export async function readContentCredentials(bytes: Uint8Array, format: string): Promise<ReadCredentials | undefined> {
  ensureWasm();
  let reader: WasmReader;
  try {
    reader = await WasmReader.fromBytes(format, bytes);
  } catch (e) {
    if (/JumbfNotFound|ManifestNotFound|no JUMBF/i.test(String(e))) return undefined;
    throw e;
  }
  try {
    const store = JSON.parse(reader.json()) as {
      active_manifest?: string;
      manifests: Record<
        string,
        {
          claim_generator_info?: { name: string; version?: string }[];
          signature_info?: { common_name?: string; issuer?: string };
          assertions?: { label: string; data: { actions?: ReadCredentials['actions'] } }[];
        }
      >;
      validation_state: string;
      validation_results?: { activeManifest?: { success?: { code: string }[]; failure?: { code: string }[] } };
    };
    const m = store.active_manifest ? store.manifests[store.active_manifest] : undefined;
    const failures = (store.validation_results?.activeManifest?.failure ?? []).map((f) => f.code);
    const successes = (store.validation_results?.activeManifest?.success ?? []).map((f) => f.code);
    const gen = m?.claim_generator_info?.[0];
    return {
      state: store.validation_state,
      failures,
      successes,
      intact:
        successes.includes('claimSignature.validated') &&
        successes.some((c) => /^assertion\.(dataHash|bmffHash)\.match$/.test(c)) &&
        failures.every((c) => c === 'signingCredential.untrusted'),
      generator: `${gen?.name ?? ''} ${gen?.version ?? ''}`.trim(),
      signedBy: m?.signature_info?.common_name ?? '',
      actions: (m?.assertions?.find((a) => a.label.startsWith('c2pa.actions'))?.data.actions ?? []).map((a) => ({
        action: a.action,
        ...(a.digitalSourceType ? { digitalSourceType: a.digitalSourceType } : {}),
        ...(a.softwareAgent ? { softwareAgent: a.softwareAgent } : {}),
      })),
    };
  } finally {
    reader.free();
  }
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
    await writeFile(
      join(tmp, 'signer.key'),
      toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
      { mode: 0o600 },
    );
    await writeFile(join(tmp, 'ca.pem'), ca.toString('pem'));
    await writeFile(join(tmp, 'signer.pem'), cert.toString('pem'));
    await rm(dir, { recursive: true, force: true }); // an incomplete identity (all three files are needed)
    await rename(tmp, dir).catch((e: NodeJS.ErrnoException) => {
      // Another conversion made one at the same moment: use that one.
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
