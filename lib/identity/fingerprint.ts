import { certInfo } from './cert-info.js';
import { parseCertificate, spkiFingerprint } from './pem.js';
import { parseSpiffeId, spiffeIdProblem } from './spiffe-id.js';

/**
 * The CA pin carried by enrollment tokens: `sha256:<64 hex>` of the DER SubjectPublicKeyInfo of the CA
 * certificate, as kubeadm's `--discovery-token-ca-cert-hash`. Hashing the key, not the certificate, keeps
 * the pin valid when the CA certificate is re-issued with the same key.
 * Same value as: `openssl x509 -in ca.pem -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`.
 * Its own module so the agent checks it without loading the CA builder (site-ca.ts, @peculiar/x509).
 */
export function caFingerprint(certPem: string): string {
  return spkiFingerprint(parseCertificate(certPem, 'CA certificate').publicKey);
}

export const FINGERPRINT_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** The trust domain named by a CA certificate's `spiffe://<td>` URI SAN, if it has exactly one. */
export function caTrustDomain(certPem: string): string | undefined {
  const info = certInfo(parseCertificate(certPem, 'CA certificate').raw);
  const spiffe = info.uris.filter((u) => u.startsWith('spiffe://'));
  if (spiffe.length !== 1 || spiffeIdProblem(spiffe[0]!) !== undefined) return undefined;
  const id = parseSpiffeId(spiffe[0]!);
  return id.path === '' ? id.trustDomain : undefined;
}
