import { randomBytes } from 'node:crypto';
import {
  certInfo,
  caFingerprint,
  caTrustDomain,
  identityError,
  derToPem,
  loadP256PrivateKey,
  parseCertificate,
  spkiFingerprint,
  isValidTrustDomain,
  trustDomainSpiffeId,
  type CryptoKeyPair,
  ECDSA_P256,
  ECDSA_SHA256,
  webCrypto,
} from '../../lib/identity/index.js';
import { loadX509 } from '../../lib/x509/index.js';

/**
 * The site CA: an ECDSA P-256 self-signed root that signs the X.509-SVIDs of the site's WFM (the LO, or the
 * all-in-one app) and of its clients (edge nodes, external testers). Profile in ADR 0140.
 */
export interface SiteCa {
  certPem: string;
  /** PKCS#8 PEM. Secret: callers store it with mode 0600 (saveSiteCa does). */
  keyPem: string;
  /** `sha256:<hex>` of the CA certificate's DER SubjectPublicKeyInfo (see caFingerprint). */
  fingerprint: string;
  trustDomain: string;
  notAfter: number;
}

export interface CreateSiteCaInput {
  trustDomain: string;
  /** Common name, e.g. `Outpost site CA plant-7`. */
  name: string;
  /** Milliseconds since the epoch. */
  now: number;
  /** Default 3650 (ten years). */
  validityDays?: number;
}

/** How far notBefore is set back from `now`, for peers whose clocks run a little slow. */
export const NOT_BEFORE_BACKDATE_SECONDS = 300;
const DAY_MS = 86_400_000;

/** 16 random bytes as a positive, minimally encoded DER INTEGER (top bit clear, first byte non-zero). */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

export async function createSiteCa(input: CreateSiteCaInput): Promise<SiteCa> {
  const { trustDomain, name, now } = input;
  const validityDays = input.validityDays ?? 3650;
  const x509 = await loadX509();
  if (!isValidTrustDomain(trustDomain)) {
    throw identityError('identity/invalid-spiffe-id', `"${trustDomain}" is not a valid SPIFFE trust domain`, {
      data: { trustDomain },
    });
  }
  if (typeof name !== 'string' || name.trim() === '' || name.length > 64) {
    throw identityError('identity/invalid-certificate', 'CA name must be 1 to 64 characters');
  }
  if (!Number.isFinite(now)) throw identityError('identity/invalid-certificate', 'now must be a timestamp');
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > 36_500) {
    throw identityError('identity/invalid-certificate', 'CA validityDays must be an integer from 1 to 36500');
  }
  const keys = (await webCrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerialHex(),
      name: [{ CN: [name] }, { O: ['Outpost'] }],
      notBefore: new Date(now - NOT_BEFORE_BACKDATE_SECONDS * 1000),
      notAfter: new Date(now + validityDays * DAY_MS),
      signingAlgorithm: ECDSA_SHA256,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, webCrypto),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: trustDomainSpiffeId(trustDomain) }]),
      ],
    },
    webCrypto,
  );
  const pkcs8 = await webCrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const certPem = derToPem(new Uint8Array(cert.rawData), 'CERTIFICATE');
  return {
    certPem,
    keyPem: derToPem(new Uint8Array(pkcs8), 'PRIVATE KEY'),
    fingerprint: caFingerprint(certPem),
    trustDomain,
    notAfter: cert.notAfter.getTime(),
  };
}

/**
 * Checks a stored CA (certificate and key PEM) and returns it as a SiteCa: the certificate is a CA, its key
 * is P-256 and the private key belongs to it, and it names its trust domain.
 */
export function siteCaFromPem(certPem: string, keyPem: string): SiteCa {
  const cert = parseCertificate(certPem, 'CA certificate');
  const info = certInfo(cert.raw);
  if (!info.isCa)
    throw identityError('identity/invalid-certificate', 'CA certificate is not a CA (cA=false)');
  const keyObject = loadP256PrivateKey(keyPem, 'CA private key');
  if (!cert.checkPrivateKey(keyObject)) {
    throw identityError('identity/invalid-key', 'CA private key does not belong to the CA certificate');
  }
  const trustDomain = caTrustDomain(certPem);
  if (trustDomain === undefined) {
    throw identityError(
      'identity/invalid-certificate',
      'CA certificate has no spiffe://<trust-domain> URI SAN',
    );
  }
  return {
    certPem: derToPem(cert.raw, 'CERTIFICATE'),
    keyPem,
    fingerprint: spkiFingerprint(cert.publicKey),
    trustDomain,
    notAfter: info.notAfter,
  };
}
