import {
  derToPem,
  ECDSA_P256,
  ECDSA_SHA256,
  webCrypto,
  type CryptoKeyPair,
} from '../../../lib/identity/index.js';
import { loadX509, type x509 as X509Types } from '../../../lib/x509/index.js';

// Tests build certificates by hand: load the library once, up front.
const x509 = await loadX509();

/**
 * CSRs that ask for more than a node should (tests of the renewal checks, ADR 0380): a fresh P-256 key and
 * a CSR requesting these SAN URIs, DNS names and a CA flag. Returns the key too, to prove possession later.
 */
export async function csrRequesting(want: {
  uris?: string[];
  dnsNames?: string[];
  ca?: boolean;
  challengePassword?: string;
}): Promise<{ keyPem: string; csrPem: string }> {
  const keys = (await webCrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names = [
    ...(want.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(want.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
  ];
  const extensions: X509Types.Extension[] = [];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  if (want.ca) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: 'CN=renewal-test',
      keys,
      signingAlgorithm: ECDSA_SHA256,
      extensions,
      ...(want.challengePassword
        ? { attributes: [new x509.ChallengePasswordAttribute(want.challengePassword)] }
        : {}),
    },
    webCrypto,
  );
  const pkcs8 = await webCrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    keyPem: derToPem(new Uint8Array(pkcs8), 'PRIVATE KEY'),
    csrPem: derToPem(new Uint8Array(csr.rawData), 'CERTIFICATE REQUEST'),
  };
}
