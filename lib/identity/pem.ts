import { X509Certificate, createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { identityError } from './identity-error.js';
import { ECDSA_P256, webCrypto, type CryptoKey } from './webcrypto.js';

/** PEM and key plumbing shared by the identity use cases. */

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

export function derToPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every PEM block with the given label, in order, as DER. */
export function pemBlocks(pem: string, label: string): Buffer[] {
  const out: Buffer[] = [];
  for (const m of pem.matchAll(PEM_BLOCK)) {
    if (m[1] === label) out.push(Buffer.from((m[2] ?? '').replace(/\s+/g, ''), 'base64'));
  }
  return out;
}

/** Splits a PEM string holding one or more certificates into one normalised PEM per certificate. */
export function splitCertificatesPem(pem: string): string[] {
  return pemBlocks(pem, 'CERTIFICATE').map((der) => derToPem(der, 'CERTIFICATE'));
}

/** Parses one certificate (PEM or DER) with node:crypto; a clear error names `what` on junk. */
export function parseCertificate(input: string | Uint8Array, what = 'certificate'): X509Certificate {
  try {
    const cert = new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
    return cert;
  } catch (cause) {
    throw identityError('identity/invalid-certificate', `${what} is not a valid X.509 certificate`, {
      cause,
    });
  }
}

/** `sha256:<hex>` of the DER SubjectPublicKeyInfo of a key. */
export function spkiFingerprint(key: KeyObject): string {
  const spki = key.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** Throws `identity/unsupported-key` unless the key is ECDSA P-256 (the only key type we issue for). */
export function assertP256(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const got =
      key.asymmetricKeyType === 'ec'
        ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve'}`
        : (key.asymmetricKeyType ?? 'unknown');
    throw identityError('identity/unsupported-key', `${what} must be an ECDSA P-256 key, got ${got}`, {
      data: { keyType: got },
    });
  }
}

/** Reads a PEM private key and checks it is P-256. */
export function loadP256PrivateKey(keyPem: string, what: string): KeyObject {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(keyPem);
  } catch (cause) {
    throw identityError('identity/invalid-key', `${what} is not a valid PEM private key`, { cause });
  }
  if (keyObject.type !== 'private') {
    throw identityError('identity/invalid-key', `${what} is not a private key`);
  }
  assertP256(keyObject, what);
  return keyObject;
}

/** Reads a PEM private key, checks it is P-256 and imports it into WebCrypto for signing. */
export async function importP256SigningKey(
  keyPem: string,
  what: string,
): Promise<{ keyObject: KeyObject; cryptoKey: CryptoKey }> {
  const keyObject = loadP256PrivateKey(keyPem, what);
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const cryptoKey = await webCrypto.subtle.importKey('pkcs8', pkcs8, ECDSA_P256, false, ['sign']);
  return { keyObject, cryptoKey };
}

/** Reads a PEM public key (SPKI) or takes a KeyObject; checks it is P-256. */
export function toP256PublicKey(input: string | KeyObject, what: string): KeyObject {
  let key: KeyObject;
  if (typeof input === 'string') {
    try {
      key = createPublicKey(input);
    } catch (cause) {
      throw identityError('identity/invalid-key', `${what} is not a valid PEM public key`, { cause });
    }
  } else {
    key = input.type === 'private' ? createPublicKey(input) : input;
  }
  assertP256(key, what);
  return key;
}

export function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}
