import { createHash } from 'node:crypto';

/**
 * The six-digit code an operator compares between the node and the console when approving an enrollment
 * request (ADR 0462). Both sides compute it from the site CA fingerprint and the node's key fingerprint:
 * the node from the CA it pinned and its own key, the LO from its CA and the key in the CSR. Equal codes
 * mean the node talks to this site's CA and the request carries the node's key.
 */
export function compareCode(caFingerprint: string, keyFingerprint: string): string {
  const h = createHash('sha256').update(`outpost-enroll-code\n${caFingerprint}\n${keyFingerprint}`).digest();
  const n = h.readUInt32BE(0) % 1_000_000;
  const s = String(n).padStart(6, '0');
  return `${s.slice(0, 3)} ${s.slice(3)}`;
}
