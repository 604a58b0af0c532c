import { identityError } from './identity-error.js';
import {
  bytes,
  children,
  DerError,
  expectTag,
  readBoolean,
  readIntegerHex,
  readNamedBits,
  readOid,
  readSmallInteger,
  readTime,
  readTlv,
  TAG,
  type Tlv,
} from './der.js';

/**
 * What path validation and SVID checks need to know about a certificate, read from its DER with our own
 * small reader (node:crypto does not expose key usage bits or every URI SAN, and @peculiar/x509 costs the
 * edge agent about 19 MiB of memory).
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
  /** keyUsage bits (KEY_USAGE; same values as x509.KeyUsageFlags), undefined when the extension is absent. */
  keyUsage: number | undefined;
  /** extendedKeyUsage OIDs, undefined when the extension is absent. */
  extKeyUsage: string[] | undefined;
  /** A problem that makes the certificate unusable whatever its role (duplicate or unknown critical extension). */
  malformed: string | undefined;
}

/** keyUsage named bits (RFC 5280 4.2.1.3) as certInfo reports them. */
export const KEY_USAGE = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;

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
  try {
    return readCertInfo(der);
  } catch (cause) {
    throw identityError('identity/invalid-certificate', 'certificate could not be parsed', { cause });
  }
}

/** RFC 5280 4.1: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }. */
function readCertInfo(buf: Uint8Array): CertInfo {
  const certificate = expectTag(readTlv(buf, 0), TAG.sequence, 'Certificate');
  if (certificate.end !== buf.length)
    throw new DerError('trailing bytes after the certificate', certificate.end);
  const [tbsTlv] = children(buf, certificate);
  if (!tbsTlv) throw new DerError('empty Certificate', certificate.start);
  const tbs = children(buf, expectTag(tbsTlv, TAG.sequence, 'TBSCertificate'));
  let i = 0;
  if (tbs[i]?.tag === 0xa0) i++; // version [0] EXPLICIT
  const serial = tbs[i++];
  i++; // signature AlgorithmIdentifier
  i++; // issuer Name
  const validity = tbs[i++];
  i += 2; // subject Name, subjectPublicKeyInfo
  if (!serial || !validity) throw new DerError('TBSCertificate is missing fields', tbsTlv.start);
  const [notBefore, notAfter] = children(buf, expectTag(validity, TAG.sequence, 'Validity'));
  if (!notBefore || !notAfter) throw new DerError('Validity needs notBefore and notAfter', validity.start);
  let extensions: Tlv | undefined;
  for (; i < tbs.length; i++) if (tbs[i]!.tag === 0xa3) extensions = tbs[i];

  const info: CertInfo = {
    serialHex: normaliseSerialHex(readIntegerHex(buf, serial)),
    notBefore: readTime(buf, notBefore),
    notAfter: readTime(buf, notAfter),
    uris: [],
    isCa: false,
    pathLength: undefined,
    keyUsage: undefined,
    extKeyUsage: undefined,
    malformed: undefined,
  };
  if (!extensions) return info;
  const [list] = children(buf, extensions);
  if (!list) throw new DerError('empty extensions', extensions.start);
  const seen = new Set<string>();
  for (const extTlv of children(buf, expectTag(list, TAG.sequence, 'Extensions'))) {
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const parts = children(buf, expectTag(extTlv, TAG.sequence, 'Extension'));
    const oid = readOid(buf, parts[0] ?? extTlv);
    const critical = parts.length === 3 ? readBoolean(buf, parts[1]!) : false;
    const valueTlv = expectTag(parts[parts.length - 1]!, TAG.octetString, `extension ${oid} value`);
    if (parts.length < 2 || parts.length > 3)
      throw new DerError(`extension ${oid} is malformed`, extTlv.start);
    if (seen.has(oid)) info.malformed ??= `extension ${oid} appears more than once`;
    seen.add(oid);
    if (critical && !UNDERSTOOD_CRITICAL.has(oid)) info.malformed ??= `unsupported critical extension ${oid}`;
    const value = readTlv(buf, valueTlv.start, valueTlv.end);
    if (value.end !== valueTlv.end) throw new DerError(`trailing bytes in extension ${oid}`, value.end);
    switch (oid) {
      case OID.subjectAltName:
        // GeneralNames; uniformResourceIdentifier is [6] IMPLICIT IA5String.
        for (const name of children(buf, expectTag(value, TAG.sequence, 'subjectAltName'))) {
          if (name.tag === 0x86) info.uris.push(Buffer.from(bytes(buf, name)).toString('latin1'));
        }
        break;
      case OID.basicConstraints: {
        const fields = children(buf, expectTag(value, TAG.sequence, 'basicConstraints'));
        let f = 0;
        if (fields[f]?.tag === TAG.boolean) info.isCa = readBoolean(buf, fields[f++]!);
        if (fields[f]) info.pathLength = readSmallInteger(buf, fields[f]!);
        break;
      }
      case OID.keyUsage:
        info.keyUsage = readNamedBits(buf, value);
        break;
      case OID.extKeyUsage:
        info.extKeyUsage = children(buf, expectTag(value, TAG.sequence, 'extKeyUsage')).map((t) =>
          readOid(buf, t),
        );
        break;
    }
  }
  return info;
}
