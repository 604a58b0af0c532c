import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  identityError,
  assertP256,
  derToPem,
  type CryptoKeyPair,
  ECDSA_P256,
  ECDSA_SHA256,
  webCrypto,
} from '../identity/index.js';
import { loadX509, type x509 } from './x509-lib.js';

/**
 * Runs on the node: a fresh ECDSA P-256 key and a PKCS#10 CSR signed by it. The private key stays with the
 * caller (store it with mode 0600); only the CSR is sent to the site. The CSR's subject is informational:
 * the CA decides the SPIFFE ID and copies nothing but the public key from the CSR.
 */
export async function createKeyAndCsr(
  input: { subject?: string } = {},
): Promise<{ keyPem: string; csrPem: string }> {
  if (input.subject !== undefined && !looksLikeDn(input.subject)) {
    throw identityError(
      'identity/invalid-csr',
      `CSR subject "${input.subject}" is not a distinguished name like "CN=node-1, O=Plant 7"`,
    );
  }
  const keys = (await webCrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const x509 = await loadX509();
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = await x509.Pkcs10CertificateRequestGenerator.create(
      { ...(input.subject ? { name: input.subject } : {}), keys, signingAlgorithm: ECDSA_SHA256 },
      webCrypto,
    );
  } catch (cause) {
    throw identityError(
      'identity/invalid-csr',
      `CSR subject "${input.subject}" is not a valid distinguished name`,
      {
        cause,
      },
    );
  }
  const pkcs8 = await webCrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    keyPem: derToPem(new Uint8Array(pkcs8), 'PRIVATE KEY'),
    csrPem: derToPem(new Uint8Array(csr.rawData), 'CERTIFICATE REQUEST'),
  };
}

/** Every RDN (split on unescaped "," and "+") is `attr=value` (RFC 4514); @peculiar/x509 silently drops the rest. */
function looksLikeDn(subject: string): boolean {
  if (typeof subject !== 'string' || subject.trim() === '' || subject.length > 1024) return false;
  return subject
    .split(/(?<!\\)[,+]/)
    .every((rdn) => /^\s*([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)+)\s*=\s*\S/.test(rdn));
}

export interface ParsedCsr {
  publicKey: KeyObject;
  /** SPKI PEM of the requested key. */
  publicKeyPem: string;
  /** RFC 4514 string of the requested subject (may be empty); never trusted for identity. */
  subject: string;
}

const MAX_CSR_CHARS = 16_384;

/**
 * Runs on the site: parses a PEM CSR, requires an ECDSA P-256 key and an ECDSA-with-SHA-256 signature, and
 * verifies the self-signature (proof that the requester holds the private key).
 */
export async function parseCsr(csrPem: string): Promise<ParsedCsr> {
  if (typeof csrPem !== 'string' || csrPem.length > MAX_CSR_CHARS) {
    throw identityError(
      'identity/invalid-csr',
      `CSR must be a PEM string of at most ${MAX_CSR_CHARS} characters`,
    );
  }
  if (!csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    throw identityError('identity/invalid-csr', 'CSR is not a PEM "CERTIFICATE REQUEST"');
  }
  const x509 = await loadX509();
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (cause) {
    throw identityError('identity/invalid-csr', 'CSR could not be parsed', { cause });
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (cause) {
    throw identityError('identity/invalid-csr', 'CSR public key could not be read', { cause });
  }
  assertP256(publicKey, 'CSR public key');
  const alg = csr.signatureAlgorithm as { name?: string; hash?: { name?: string } };
  if (alg.name !== 'ECDSA' || alg.hash?.name !== 'SHA-256') {
    throw identityError('identity/invalid-csr', 'CSR must be signed with ECDSA with SHA-256');
  }
  let valid: boolean;
  try {
    valid = await csr.verify(webCrypto);
  } catch (cause) {
    throw identityError('identity/invalid-csr', 'CSR signature could not be checked', { cause });
  }
  if (!valid) throw identityError('identity/invalid-csr', 'CSR signature does not match its public key');
  return {
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    subject: csr.subject,
  };
}
