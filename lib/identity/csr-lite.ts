import { generateKeyPairSync, sign } from 'node:crypto';
import { derToPem } from './pem.js';

/**
 * A node's key and PKCS#10 CSR (RFC 2986) made with node:crypto and a few lines of DER, for the edge
 * agent: building them with @peculiar/x509 (csr.ts) leaves about 19 MiB resident in a long-running agent
 * after its first SVID renewal. Only what the agent asks for: an ECDSA P-256 key, a subject that is empty
 * or one common name, no attributes, signed with ECDSA-with-SHA-256. The site parses it with `parseCsr`
 * like any other CSR.
 */

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag, ...length(body.length)]), body]);
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID_CN = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]); // 2.5.4.3
const OID_ECDSA_SHA256 = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]); // 1.2.840.10045.4.3.2

/** A common name we can write as one UTF8String RDN (printable, no DN syntax to escape). */
const SIMPLE_CN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isSimpleCommonName(cn: string): boolean {
  return SIMPLE_CN.test(cn);
}

export function createKeyAndCsrLite(input: { commonName?: string } = {}): { keyPem: string; csrPem: string } {
  const cn = input.commonName;
  if (cn !== undefined && !isSimpleCommonName(cn))
    throw new Error(`common name ${JSON.stringify(cn)} must match ${SIMPLE_CN.source}`);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subject =
    cn === undefined
      ? tlv(SEQUENCE)
      : tlv(SEQUENCE, tlv(SET, tlv(SEQUENCE, OID_CN, tlv(0x0c, Buffer.from(cn, 'utf8')))));
  const info = tlv(
    SEQUENCE,
    Buffer.from([0x02, 0x01, 0x00]), // version 0
    subject,
    spki,
    Buffer.from([0xa0, 0x00]), // attributes: [0] IMPLICIT SET OF Attribute, empty
  );
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  const csr = tlv(
    SEQUENCE,
    info,
    tlv(SEQUENCE, OID_ECDSA_SHA256),
    tlv(0x03, Buffer.from([0x00]), signature), // BIT STRING, no unused bits
  );
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    csrPem: derToPem(new Uint8Array(csr), 'CERTIFICATE REQUEST'),
  };
}
