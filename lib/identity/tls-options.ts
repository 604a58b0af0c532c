import type { DetailedPeerCertificate, PeerCertificate, SecureVersion, TLSSocket } from 'node:tls';
import { identityError } from './identity-error.js';
import { parseCertificate, splitCertificatesPem } from './pem.js';
import { certInfo } from './cert-info.js';
import { wfmOf } from './spiffe-id.js';
import { trustAnchors, verifyPeer, type VerifyPeerResult } from './verify-peer.js';

/**
 * Option builders for node:https / node:tls (and undici's `connect` options) that speak Margo's mutual TLS:
 * TLS 1.3 by default, TLS 1.2 as the floor (RFC 9325; Margo forbids anything older), SPIFFE checks instead
 * of DNS hostname checks.
 */

export const MIN_TLS_VERSION: SecureVersion = 'TLSv1.2';

/** The peer's chain as DER, leaf first, walked from `getPeerCertificate(true)` via `issuerCertificate`. */
export function chainFromPeerCertificate(
  cert: PeerCertificate | DetailedPeerCertificate | undefined,
): Buffer[] {
  const out: Buffer[] = [];
  let cur = cert as DetailedPeerCertificate | undefined;
  while (cur && cur.raw && out.length < 16) {
    if (out.some((b) => b.equals(cur!.raw))) break; // a self-signed root points at itself
    out.push(cur.raw);
    cur = cur.issuerCertificate;
  }
  return out;
}

/** The chain a TLS peer presented (empty when it presented none). */
export function peerChainDer(socket: TLSSocket): Buffer[] {
  return chainFromPeerCertificate(socket.getPeerCertificate(true));
}

export interface MtlsServerOptionsInput {
  /** The WFM's own SVID (leaf). */
  certPem: string;
  keyPem: string;
  /**
   * Certificates sent after the leaf: intermediates, and the site CA itself when nodes enroll against this
   * listener with a CA pin (the pinned check needs to see the CA; see ADR 0142).
   */
  chainPem?: string;
  /** Trust anchors for client certificates. */
  anchorsPem: readonly string[];
  /**
   * 'required' (default): the handshake fails without a client certificate that chains to an anchor.
   * 'optional': a client without a certificate (or with an untrusted one) completes the handshake and every
   * request must then pass verifyPeer, which answers `no-certificate`/`wrong-ca` for it; this lets the one
   * unauthenticated call (enrollment) share the port with the MMI.
   */
  clientCert?: 'required' | 'optional';
}

export interface MtlsServerOptions {
  cert: string;
  key: string;
  ca: string[];
  requestCert: true;
  rejectUnauthorized: boolean;
  minVersion: SecureVersion;
}

/**
 * Options for `https.createServer()` / `tls.createServer()`. The handshake checks the chain; the SPIFFE
 * checks and the accepted-client policy are the app's job on every request: call
 * `verifyPeer({ chainDer: peerChainDer(req.socket), ... })` and answer 403 not-authorized when it fails.
 */
export function mtlsServerOptions(input: MtlsServerOptionsInput): MtlsServerOptions {
  const certs = [...splitCertificatesPem(input.certPem), ...splitCertificatesPem(input.chainPem ?? '')];
  if (certs.length === 0)
    throw identityError('identity/invalid-certificate', 'server certificate PEM holds no certificate');
  for (const c of certs) parseCertificate(c, 'server certificate');
  const anchors = trustAnchors(input.anchorsPem).certs.map((c) => c.toString());
  return {
    cert: certs.join(''),
    key: input.keyPem,
    ca: anchors,
    requestCert: true,
    rejectUnauthorized: (input.clientCert ?? 'required') === 'required',
    minVersion: MIN_TLS_VERSION,
  };
}

export interface MtlsClientOptionsInput {
  /** This client's own SVID (leaf first, intermediates after). */
  certPem: string;
  keyPem: string;
  /** Trust anchors for the WFM's certificate (the trust bundle). */
  anchorsPem: readonly string[];
  /**
   * The WFM to expect. Margo takes it from the client's own SVID, not from configuration: by default it is
   * derived from `certPem` (`spiffe://<td>/margo/wfm/<wfm-id>/client/<id>` expects
   * `spiffe://<td>/margo/wfm/<wfm-id>`). When given, it must agree with the SVID.
   */
  expectWfm?: { trustDomain: string; wfmId: string };
  /** Clock for the validity check; default Date.now (OpenSSL checks the window with system time anyway). */
  now?: () => number;
  clockSkewSeconds?: number;
  /** Called with every verification result (for logging security events). */
  onVerify?: (result: VerifyPeerResult) => void;
}

export interface MtlsClientOptions {
  cert: string;
  key: string;
  ca: string[];
  minVersion: SecureVersion;
  rejectUnauthorized: true;
  checkServerIdentity: (hostname: string, cert: PeerCertificate) => Error | undefined;
}

/**
 * Options for `https.request()`, `new https.Agent()` or undici's `connect`: the chain must end in one of
 * the anchors (OpenSSL, during the handshake) and then `checkServerIdentity` (which replaces DNS name
 * matching) requires the server's SVID to be exactly `spiffe://<td>/margo/wfm/<wfm-id>`.
 * Use them with keep-alive off or a short socket lifetime (Margo: reconnect after renewing the SVID).
 */
export function mtlsClientOptions(input: MtlsClientOptionsInput): MtlsClientOptions {
  const own = splitCertificatesPem(input.certPem);
  if (own.length === 0)
    throw identityError('identity/invalid-certificate', 'client certificate PEM holds no certificate');
  const ownInfo = certInfo(parseCertificate(own[0]!, 'client certificate').raw);
  const ownId = ownInfo.uris.length === 1 ? ownInfo.uris[0]! : undefined;
  const derived = ownId === undefined ? undefined : wfmOf(ownId);
  if (derived === undefined) {
    throw identityError(
      'identity/invalid-certificate',
      'client certificate is not a Margo client SVID (one URI SAN spiffe://<td>/margo/wfm/<wfm-id>/client/<id>)',
    );
  }
  if (
    input.expectWfm &&
    (input.expectWfm.trustDomain !== derived.trustDomain || input.expectWfm.wfmId !== derived.wfmId)
  ) {
    throw identityError(
      'identity/invalid-certificate',
      `client SVID ${ownId} belongs to WFM ${derived.wfmId} in ${derived.trustDomain}, not to ${input.expectWfm.wfmId} in ${input.expectWfm.trustDomain}`,
    );
  }
  const anchors = trustAnchors(input.anchorsPem);
  const now = input.now ?? Date.now;
  return {
    cert: own.join(''),
    key: input.keyPem,
    ca: anchors.certs.map((c) => c.toString()),
    minVersion: MIN_TLS_VERSION,
    rejectUnauthorized: true,
    checkServerIdentity: (_hostname, cert) => {
      const result = verifyPeer({
        chainDer: chainFromPeerCertificate(cert),
        anchors,
        now: now(),
        clockSkewSeconds: input.clockSkewSeconds,
        expect: { ...derived, role: 'wfm' },
      });
      input.onVerify?.(result);
      if (result.ok) return undefined;
      return identityError('identity/peer-rejected', `WFM certificate rejected: ${result.reason}`, {
        data: { code: result.code, spiffeId: result.spiffeId },
      });
    },
  };
}
