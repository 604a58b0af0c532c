/**
 * Test-only helpers: certificates that the library would never issue (two URI SANs, a CA as leaf, odd key
 * usages, intermediates), signed by hand with @peculiar/x509, and a wrapper around the openssl CLI used as
 * an independent peer. Imported by *.test.ts files only.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  importP256SigningKey,
  derToPem,
  ECDSA_P256,
  ECDSA_SHA256,
  webCrypto,
  type CryptoKeyPair,
} from '../../../lib/identity/index.js';
import { randomSerialHex } from '../site-ca.js';
import { loadX509, type x509 as X509Types } from '../../../lib/x509/index.js';

// Tests build certificates by hand: load the library once, up front.
const x509 = await loadX509();

const run = promisify(execFile);

export async function newP256Key(): Promise<{ keyPem: string; publicKeyPem: string; spki: Buffer }> {
  const keys = (await webCrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = Buffer.from(await webCrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const spki = Buffer.from(await webCrypto.subtle.exportKey('spki', keys.publicKey));
  return { keyPem: derToPem(pkcs8, 'PRIVATE KEY'), publicKeyPem: derToPem(spki, 'PUBLIC KEY'), spki };
}

export interface HandCertInput {
  /** Signer; omit for self-signed (then `keyPem` signs). */
  issuer?: { certPem: string; keyPem: string };
  /** The subject key pair (PEM); generated when omitted. */
  subject?: { keyPem: string; spki: Buffer };
  subjectName?: string;
  uris?: string[];
  isCa?: boolean;
  pathLength?: number;
  keyUsage?: number;
  extKeyUsage?: string[];
  notBefore: number;
  notAfter: number;
  extraExtensions?: X509Types.Extension[];
}

/** Builds any certificate a test needs. Returns the cert and the subject's key. */
export async function handCert(
  input: HandCertInput,
): Promise<{ certPem: string; keyPem: string; spki: Buffer }> {
  const subject = input.subject ?? (await newP256Key());
  const signerKeyPem = input.issuer?.keyPem ?? subject.keyPem;
  const { cryptoKey } = await importP256SigningKey(signerKeyPem, 'signing key');
  const issuerName = input.issuer ? new x509.X509Certificate(input.issuer.certPem).subjectName : undefined;
  const subjectName = input.subjectName ?? 'CN=hand-made';
  const extensions: X509Types.Extension[] = [];
  if (input.isCa !== undefined)
    extensions.push(new x509.BasicConstraintsExtension(input.isCa, input.pathLength, true));
  if (input.keyUsage !== undefined) extensions.push(new x509.KeyUsagesExtension(input.keyUsage, true));
  if (input.extKeyUsage) extensions.push(new x509.ExtendedKeyUsageExtension(input.extKeyUsage, false));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(subject.spki, false, webCrypto));
  if (input.issuer) {
    const issuerCert = new x509.X509Certificate(input.issuer.certPem);
    extensions.push(
      await x509.AuthorityKeyIdentifierExtension.create(issuerCert.publicKey.rawData, false, webCrypto),
    );
  }
  if (input.uris && input.uris.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(input.uris.map((value) => ({ type: 'url' as const, value }))),
    );
  }
  extensions.push(...(input.extraExtensions ?? []));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: subjectName,
      issuer: issuerName ?? subjectName,
      notBefore: new Date(input.notBefore),
      notAfter: new Date(input.notAfter),
      publicKey: subject.spki,
      signingKey: cryptoKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions,
    },
    webCrypto,
  );
  return {
    certPem: derToPem(new Uint8Array(cert.rawData), 'CERTIFICATE'),
    keyPem: subject.keyPem,
    spki: subject.spki,
  };
}

export function pemToDer(pem: string): Buffer {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(b64, 'base64');
}

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix = 'outpost-identity-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the openssl CLI; resolves with stdout+stderr and the exit code (never throws on a non-zero exit). */
export async function openssl(args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('openssl', args, { cwd });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
