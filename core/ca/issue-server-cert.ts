import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import {
  identityError,
  derToPem,
  importP256SigningKey,
  spkiDer,
  ECDSA_SHA256,
  webCrypto,
} from '../../lib/identity/index.js';
import { NOT_BEFORE_BACKDATE_SECONDS, randomSerialHex } from './site-ca.js';
import { loadX509 } from '../../lib/x509/index.js';

export interface IssueServerCertificateInput {
  ca: { certPem: string; keyPem: string };
  /** Host names and IP addresses the server is reached by (the TLS client checks them, not a SPIFFE ID). */
  dnsNames: string[];
  ipAddresses: string[];
  commonName: string;
  now: number;
  ttlSeconds: number;
}

/**
 * A plain TLS server certificate (DNS and IP SANs, serverAuth) from the site CA, with a new P-256 key:
 * for the embedded nats-server, whose clients (the LO's own service connection, agents, leaf links)
 * check host names the usual way. Not a SPIFFE SVID: no URI SAN.
 */
export async function issueServerCertificate(
  input: IssueServerCertificateInput,
): Promise<{ certPem: string; keyPem: string; notAfter: number }> {
  if (input.dnsNames.length + input.ipAddresses.length === 0)
    throw identityError(
      'identity/invalid-certificate',
      'a server certificate needs a host name or an address',
    );
  const caCert = new X509Certificate(input.ca.certPem);
  const caNotAfter = Date.parse(caCert.validTo);
  if (input.now >= caNotAfter)
    throw identityError('identity/invalid-certificate', `the CA expired at ${caCert.validTo}`);
  const { cryptoKey: signingKey } = await importP256SigningKey(input.ca.keyPem, 'CA private key');
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subjectSpki = spkiDer(keys.publicKey);
  const x509 = await loadX509();
  const issuer = new x509.X509Certificate(input.ca.certPem);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerialHex(),
      subject: [{ O: ['Outpost'] }, { CN: [input.commonName.slice(0, 64)] }],
      issuer: issuer.subjectName,
      notBefore: new Date(input.now - NOT_BEFORE_BACKDATE_SECONDS * 1000),
      notAfter: new Date(Math.min(input.now + input.ttlSeconds * 1000, caNotAfter)),
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
        await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey.rawData, false, webCrypto),
        new x509.SubjectAlternativeNameExtension([
          ...input.dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...input.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
        ]),
      ],
    },
    webCrypto,
  );
  return {
    certPem: derToPem(new Uint8Array(cert.rawData), 'CERTIFICATE'),
    keyPem: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    notAfter: cert.notAfter.getTime(),
  };
}
