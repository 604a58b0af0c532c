import type { PeerCertificate } from 'node:tls';
import type { Clock } from '../../lib/base/index.js';

/**
 * The SPIFFE check of the WFM's certificate parses it in JavaScript (tens of milliseconds); a poll on a
 * fresh connection would pay that every time. The same certificate (same bytes, by its SHA-256
 * fingerprint) that passed the check within the last 10 minutes is accepted without parsing it again;
 * OpenSSL still validates the chain against the anchors, and the validity window, on every handshake.
 * A failed check is never cached.
 */
export function withVerifiedPeerCache<
  T extends { checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined },
>(tls: T, clock: Clock, maxAgeMs = 600_000): T {
  const ok = new Map<string, number>();
  return {
    ...tls,
    checkServerIdentity: (host: string, cert: PeerCertificate) => {
      const key = cert.fingerprint256;
      const at = key ? ok.get(key) : undefined;
      if (at !== undefined && clock.now() - at < maxAgeMs) return undefined;
      const err = tls.checkServerIdentity(host, cert);
      if (err) ok.delete(key);
      else if (key) {
        if (ok.size > 16) ok.clear();
        ok.set(key, clock.now());
      }
      return err;
    },
  };
}
