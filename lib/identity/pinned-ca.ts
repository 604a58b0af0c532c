import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { FINGERPRINT_PATTERN, caTrustDomain } from './fingerprint.js';
import { identityError } from './identity-error.js';
import { derToPem, parseCertificate, spkiFingerprint } from './pem.js';
import { MIN_TLS_VERSION, peerChainDer } from './tls-options.js';
import { wfmOf } from './spiffe-id.js';
import { validateSvidChain, type PeerFailureCode } from './verify-peer.js';

/**
 * Trusting the site on first contact without trusting on first use (the `kubeadm join
 * --discovery-token-ca-cert-hash` idea): the enrollment token carries the fingerprint of the site CA's
 * public key, the server presents its SVID *and* the site CA certificate, and the node accepts the
 * connection only if the presented chain validates up to a CA whose key has exactly that fingerprint and
 * the leaf is a WFM SVID of that CA's trust domain. Design and the reasons for it: ADR 0142.
 */

export type PinnedCheckResult =
  | {
      ok: true;
      /** The pinned CA certificate as presented: store it as the node's trust anchor after enrolling. */
      caPem: string;
      spiffeId: string;
      trustDomain: string;
      wfmId: string;
    }
  | { ok: false; code: PeerFailureCode | 'pin-mismatch'; reason: string };

/** Pure check of a presented server chain against a CA pin (`sha256:<hex>`, see caFingerprint). */
export function verifyPinnedServerChain(input: {
  chainDer: readonly Uint8Array[];
  fingerprint: string;
  now: number;
  clockSkewSeconds?: number;
}): PinnedCheckResult {
  const fingerprint = input.fingerprint.toLowerCase();
  if (!FINGERPRINT_PATTERN.test(fingerprint)) {
    throw identityError(
      'identity/invalid-token',
      `CA fingerprint "${input.fingerprint}" is not sha256:<64 hex digits>`,
    );
  }
  if (input.chainDer.length === 0)
    return { ok: false, code: 'no-certificate', reason: 'server presented no certificate' };
  let pinned;
  for (const der of input.chainDer) {
    try {
      const cert = parseCertificate(der);
      if (cert.ca && spkiFingerprint(cert.publicKey) === fingerprint) {
        pinned = cert;
        break;
      }
    } catch {
      /* a junk certificate is just not the pinned one; validateSvidChain reports it below if it matters */
    }
  }
  if (pinned === undefined) {
    return {
      ok: false,
      code: 'pin-mismatch',
      reason: `server did not present a CA with fingerprint ${fingerprint} (it is another site, or it does not send its CA certificate)`,
    };
  }
  const v = validateSvidChain({
    chainDer: input.chainDer,
    anchors: { certs: [pinned] },
    now: input.now,
    clockSkewSeconds: input.clockSkewSeconds,
    purpose: 'server',
  });
  if (!v.ok) return { ok: false, code: v.code, reason: v.reason };
  const caPem = derToPem(pinned.raw, 'CERTIFICATE');
  const wfm = wfmOf(v.spiffeId.uri);
  if (wfm === undefined || v.spiffeId.segments.length !== 3) {
    return {
      ok: false,
      code: 'wrong-form',
      reason: `"${v.spiffeId.uri}" is not spiffe://<td>/margo/wfm/<wfm-id>`,
    };
  }
  const caTd = caTrustDomain(caPem);
  if (caTd !== undefined && caTd !== wfm.trustDomain) {
    return {
      ok: false,
      code: 'wrong-trust-domain',
      reason: `"${v.spiffeId.uri}" is not in the pinned CA's trust domain "${caTd}"`,
    };
  }
  return { ok: true, caPem, spiffeId: v.spiffeId.uri, trustDomain: wfm.trustDomain, wfmId: wfm.wfmId };
}

export interface PinnedCaClientOptionsInput {
  fingerprint: string;
  now?: () => number;
  clockSkewSeconds?: number;
  /** Called once the server passed the check, before any request byte is sent. */
  onVerified?: (result: Extract<PinnedCheckResult, { ok: true }>) => void;
}

/**
 * An https.Agent for the one enrollment call. OpenSSL cannot check a pin, so the agent connects with
 * `rejectUnauthorized: false` and checks the chain itself in the `secureConnect` handler, the same point at
 * which Node applies its own `rejectUnauthorized`/`checkServerIdentity`: a failing server is destroyed
 * before the request (and so the token secret) is written. Keep-alive and TLS session reuse are off, so
 * every request is checked on a fresh handshake.
 */
export class PinnedCaAgent extends https.Agent {
  readonly #check: PinnedCaClientOptionsInput;

  constructor(input: PinnedCaClientOptionsInput) {
    super({ keepAlive: false, maxCachedSessions: 0, rejectUnauthorized: false, minVersion: MIN_TLS_VERSION });
    if (!FINGERPRINT_PATTERN.test(input.fingerprint.toLowerCase())) {
      throw identityError(
        'identity/invalid-token',
        `CA fingerprint "${input.fingerprint}" is not sha256:<64 hex digits>`,
      );
    }
    this.#check = input;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection({ ...options, rejectUnauthorized: false }, callback) as TLSSocket;
    socket.once('secureConnect', () => {
      const result = verifyPinnedServerChain({
        chainDer: peerChainDer(socket),
        fingerprint: this.#check.fingerprint,
        now: (this.#check.now ?? Date.now)(),
        clockSkewSeconds: this.#check.clockSkewSeconds,
      });
      if (result.ok) {
        this.#check.onVerified?.(result);
        return;
      }
      socket.destroy(
        identityError('identity/pin-mismatch', `enrollment server rejected: ${result.reason}`, {
          data: { code: result.code },
        }),
      );
    });
    return socket;
  }
}

/** Request options for the enrollment call: `https.request({ ...pinnedCaClientOptions({ fingerprint }), ... })`. */
export function pinnedCaClientOptions(input: PinnedCaClientOptionsInput): { agent: PinnedCaAgent } {
  return { agent: new PinnedCaAgent(input) };
}
