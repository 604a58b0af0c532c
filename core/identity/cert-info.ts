import { identityError } from './identity-error.js';
import { x509 } from './x509-lib.js';

/**
 * What path validation and SVID checks need to know about a certificate, read from its extensions with
 * @peculiar/x509 (node:crypto does not expose key usage bits or every URI SAN).
 */
export interface CertInfo {
  /** Serial number: lowercase hex, no leading zeros (see normaliseSerialHex). */
  serialHex: string;
  notBefore: number;
  notAfter: number;
  /** Every URI SAN across every subjectAltName extension. */
  uris: string[];
  /** basicConstraints cA (false when the extension is absent, RFC 5280). */
  isCa: boolean;
  pathLength: number | undefined;
  /** keyUsage bits (x509.KeyUsageFlags), undefined when the extension is absent. */
  keyUsage: number | undefined;
  /** extendedKeyUsage OIDs, undefined when the extension is absent. */
  extKeyUsage: string[] | undefined;
  /** A problem that makes the certificate unusable whatever its role (duplicate or unknown critical extension). */
  malformed: string | undefined;
}

export const OID = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  certificatePolicies: '2.5.29.32',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** Critical extensions we understand; any other critical extension makes a certificate unusable (RFC 5280 4.2). */
const UNDERSTOOD_CRITICAL = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.subjectKeyId,
  OID.authorityKeyId,
]);

/** One spelling for serial numbers everywhere: lowercase hex without leading zeros (`0` for zero). */
export function normaliseSerialHex(hex: string): string {
  const s = hex.toLowerCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

export function certInfo(der: Uint8Array): CertInfo {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(Buffer.from(der));
  } catch (cause) {
    throw identityError('identity/invalid-certificate', 'certificate could not be parsed', { cause });
  }
  const seen = new Set<string>();
  let malformed: string | undefined;
  for (const ext of cert.extensions) {
    if (seen.has(ext.type)) malformed ??= `extension ${ext.type} appears more than once`;
    seen.add(ext.type);
    if (ext.critical && !UNDERSTOOD_CRITICAL.has(ext.type)) {
      malformed ??= `unsupported critical extension ${ext.type}`;
    }
  }
  const uris: string[] = [];
  for (const san of cert.getExtensions(x509.SubjectAlternativeNameExtension)) {
    for (const name of san.names.items) if (name.type === 'url') uris.push(name.value);
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  return {
    serialHex: normaliseSerialHex(cert.serialNumber),
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    uris,
    isCa: bc?.ca ?? false,
    pathLength: bc?.pathLength,
    keyUsage: ku?.usages,
    extKeyUsage: eku?.usages.map(String),
    malformed,
  };
}
