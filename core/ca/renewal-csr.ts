import { loadX509, parseCsr, type ParsedCsr } from '../../lib/x509/index.js';
import { identityError, spkiDer } from '../../lib/identity/index.js';

/**
 * Runs on the site when a node renews its SVID (ADR 0380). On top of parseCsr (ECDSA P-256 key,
 * ECDSA-with-SHA-256, valid self-signature) the CSR must ask for nothing the CA would not put in anyway:
 *
 * - no attribute other than the extension request (PKCS#9 extensionRequest);
 * - no requested extension other than a subjectAltName that is exactly the one URI `spiffeId` (the
 *   identity of the certificate the node presented); another SPIFFE ID, a DNS name or a CA flag is refused,
 *   never silently dropped, so a confused or hostile node learns that it asked for too much;
 * - a key that is not the one of the presented certificate (renewal means a new key pair).
 *
 * The subject is informational and ignored (the CA writes its own). The SPIFFE ID of the new SVID comes
 * from the presented certificate, never from the CSR.
 */

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SUBJECT_ALT_NAME = '2.5.29.17';

export interface RenewalCsrInput {
  /** The SPIFFE ID of the presented (current) SVID. */
  spiffeId: string;
  /** SPKI DER of the presented SVID's public key. */
  currentKeySpki: Buffer;
}

export async function parseRenewalCsr(csrPem: string, input: RenewalCsrInput): Promise<ParsedCsr> {
  const parsed = await parseCsr(csrPem);
  const x509 = await loadX509();
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  const refuse = (what: string) =>
    identityError(
      'identity/invalid-csr',
      `the renewal CSR asks for ${what}; renewal issues an SVID for ${input.spiffeId} only (send a CSR with just the new key)`,
    );
  for (const attr of csr.attributes) {
    if (attr.type !== EXTENSION_REQUEST) throw refuse(`the attribute ${attr.type}`);
  }
  for (const ext of csr.extensions) {
    if (ext.type !== SUBJECT_ALT_NAME) throw refuse(`the extension ${ext.type}`);
    const names = new x509.SubjectAlternativeNameExtension(ext.rawData).names.items;
    const other = names.filter((n) => n.type !== 'url' || n.value !== input.spiffeId);
    if (other.length > 0 || names.length !== 1) {
      throw refuse(`the names ${names.map((n) => `${n.type}:${n.value}`).join(', ') || '(none)'}`);
    }
  }
  if (spkiDer(parsed.publicKey).equals(input.currentKeySpki)) {
    throw identityError(
      'identity/invalid-csr',
      'the renewal CSR carries the key of the presented certificate; make a new key pair for every renewal',
    );
  }
  return parsed;
}
