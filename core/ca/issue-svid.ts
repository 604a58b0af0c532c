import type { KeyObject } from 'node:crypto';
import {
  normaliseSerialHex,
  identityError,
  derToPem,
  importP256SigningKey,
  spkiDer,
  toP256PublicKey,
  caTrustDomain,
  parseSpiffeId,
  ECDSA_SHA256,
  webCrypto,
} from '../../lib/identity/index.js';
import { loadX509, parseCsr, type x509 } from '../../lib/x509/index.js';
import { NOT_BEFORE_BACKDATE_SECONDS, randomSerialHex } from './site-ca.js';

export interface IssueSvidInput {
  /** The signing CA (a SiteCa, or any certificate/key pair of a CA). */
  ca: { certPem: string; keyPem: string };
  /** The subject's public key (SPKI PEM or KeyObject). Give this or `csrPem`, not both. */
  publicKey?: string | KeyObject;
  /** A CSR from the subject; its self-signature is verified and only its public key is used. */
  csrPem?: string;
  /** The one URI SAN, e.g. clientSpiffeId(td, wfmId, clientId) or wfmSpiffeId(td, wfmId). */
  spiffeId: string;
  /** Milliseconds since the epoch. */
  now: number;
  ttlSeconds: number;
  /** Hex serial; default 16 random bytes. */
  serialHex?: string;
}

export interface IssuedSvid {
  /** The leaf certificate (PEM). The site CA is the root: there are no intermediates to append. */
  certPem: string;
  serialHex: string;
  spiffeId: string;
  notBefore: number;
  /** Capped at the CA's own notAfter. */
  notAfter: number;
}

/**
 * Issues an X.509-SVID (profile in ADR 0140): exactly one URI SAN (the SPIFFE ID), basicConstraints cA=false
 * (critical), keyUsage digitalSignature (critical), extendedKeyUsage serverAuth+clientAuth (SPIFFE X509-SVID
 * 4.4 requires both when the extension is present), subject/authority key identifiers, a random serial,
 * notBefore five minutes before `now`.
 */
export async function issueSvid(input: IssueSvidInput): Promise<IssuedSvid> {
  const { ca, spiffeId, now, ttlSeconds } = input;
  if ((input.publicKey === undefined) === (input.csrPem === undefined)) {
    throw identityError('identity/invalid-key', 'give exactly one of publicKey or csrPem');
  }
  const id = parseSpiffeId(spiffeId);
  if (id.path === '') {
    throw identityError('identity/invalid-spiffe-id', `"${spiffeId}" has no path: a leaf SVID needs one`);
  }
  if (!Number.isFinite(now)) throw identityError('identity/invalid-certificate', 'now must be a timestamp');
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 10 * 365 * 86_400) {
    throw identityError('identity/invalid-certificate', 'ttlSeconds must be an integer from 60 to ten years');
  }
  if (input.serialHex !== undefined && !/^[0-9a-fA-F]{1,40}$/.test(input.serialHex)) {
    throw identityError('identity/invalid-certificate', 'serialHex must be 1 to 40 hex digits');
  }
  const serialHex = normaliseSerialHex(input.serialHex ?? randomSerialHex());
  if (serialHex === '0')
    throw identityError('identity/invalid-certificate', 'serial number must not be zero');

  const x509 = await loadX509();
  let caCert: x509.X509Certificate;
  try {
    caCert = new x509.X509Certificate(ca.certPem);
  } catch (cause) {
    throw identityError('identity/invalid-certificate', 'CA certificate could not be parsed', { cause });
  }
  const caTd = caTrustDomain(ca.certPem);
  if (caTd !== undefined && caTd !== id.trustDomain) {
    throw identityError(
      'identity/invalid-spiffe-id',
      `"${spiffeId}" is not in the CA's trust domain "${caTd}"`,
      { data: { spiffeId, trustDomain: caTd } },
    );
  }
  const caNotBefore = caCert.notBefore.getTime();
  const caNotAfter = caCert.notAfter.getTime();
  if (now >= caNotAfter) {
    throw identityError('identity/invalid-certificate', `the CA expired at ${caCert.notAfter.toISOString()}`);
  }
  const { cryptoKey: signingKey, keyObject: caKey } = await importP256SigningKey(ca.keyPem, 'CA private key');
  const caPublic = toP256PublicKey(caKey, 'CA key');
  if (!spkiDer(caPublic).equals(Buffer.from(caCert.publicKey.rawData))) {
    throw identityError('identity/invalid-key', 'CA private key does not belong to the CA certificate');
  }

  const subjectKey =
    input.csrPem !== undefined
      ? (await parseCsr(input.csrPem)).publicKey
      : toP256PublicKey(input.publicKey!, 'subject public key');
  const subjectSpki = spkiDer(subjectKey);

  const notBefore = Math.max(now - NOT_BEFORE_BACKDATE_SECONDS * 1000, caNotBefore);
  const notAfter = Math.min(now + ttlSeconds * 1000, caNotAfter);
  const cn = id.segments[id.segments.length - 1]!.slice(0, 64);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialHex.length % 2 === 1 ? `0${serialHex}` : serialHex,
      subject: [{ O: ['Outpost'] }, { CN: [cn] }],
      issuer: caCert.subjectName,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      publicKey: subjectSpki,
      signingKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(
          [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
          false,
        ),
        await x509.SubjectKeyIdentifierExtension.create(subjectSpki, false, webCrypto),
        await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey.rawData, false, webCrypto),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: spiffeId }]),
      ],
    },
    webCrypto,
  );
  return {
    certPem: derToPem(new Uint8Array(cert.rawData), 'CERTIFICATE'),
    serialHex,
    spiffeId,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
  };
}
