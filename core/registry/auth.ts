import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { peerChainDer, trustAnchors, verifyPeer, type TrustAnchors } from '../../lib/identity/index.js';
import { registryError } from './errors.js';
import type { Access } from './http.js';

/**
 * Who may use the site registry (ADR 0421), consistent with the MMI and the console API:
 * - an API token (console API tokens, the per-run token of server.json), as the password of HTTP Basic
 *   (any user name: `podman login -u outpost -p <token>`) or as a Bearer token: any valid token may pull,
 *   only an administrator's may push or delete;
 * - a client certificate on the HTTPS listener that passes the MMI's checks (a client SVID of this WFM,
 *   chained to the site CA, accepted by the client policy: an enrolled node or an allowed client) may pull;
 * - nobody else, unless `registry.anonymousPull` lets anyone pull.
 * In-process writers (the bundle import) use the store directly and need none of this.
 */

export interface TokenPrincipal {
  id: string;
  admin: boolean;
}

export interface CertClient {
  clientId: string;
  spiffeId: string;
  serialHex: string;
}

export interface RegistryAuthDeps {
  /** The principal of an API token, or null. */
  token(token: string): TokenPrincipal | null;
  /** Client certificates (absent: no certificate is accepted). */
  clients?: {
    trustDomain: string;
    wfmId: string;
    anchorsPem: () => readonly string[];
    /** The accepted-client policy of the MMI (enrolled, not revoked, not denied). */
    authorize(client: CertClient): { ok: true } | { ok: false; reason: string };
  };
  anonymousPull: boolean;
  clock: Clock;
  logger: Logger;
}

/** `authorize(req, access)` for the Distribution handler: returns nothing or throws 401/403. */
export function createRegistryAuth(deps: RegistryAuthDeps): (req: IncomingMessage, access: Access) => void {
  const log = deps.logger;
  let anchorsFor: { pem: readonly string[]; anchors: TrustAnchors } | undefined;
  const anchors = (): TrustAnchors => {
    const pem = deps.clients!.anchorsPem();
    if (anchorsFor?.pem !== pem) anchorsFor = { pem, anchors: trustAnchors(pem) };
    return anchorsFor.anchors;
  };
  /** A connection's chain cannot change: its verdict is kept for a minute (the policy is asked every time). */
  const verdicts = new WeakMap<TLSSocket, { until: number; client: CertClient | string }>();

  function certificateClient(socket: TLSSocket): CertClient | string | undefined {
    const c = deps.clients;
    if (!c) return undefined;
    const peer = socket.getPeerCertificate();
    if (!peer || !peer.raw) return undefined;
    const now = deps.clock.now();
    const cached = verdicts.get(socket);
    if (cached && cached.until > now) return cached.client;
    const r = verifyPeer({
      chainDer: peerChainDer(socket),
      anchors: anchors(),
      now,
      expect: { trustDomain: c.trustDomain, wfmId: c.wfmId, role: 'client' },
    });
    const client: CertClient | string = r.ok
      ? { clientId: r.clientId!, spiffeId: r.spiffeId, serialHex: r.serialHex }
      : `client certificate rejected (${r.code}): ${r.reason}`;
    verdicts.set(socket, { until: now + 60_000, client });
    return client;
  }

  return (req, access) => {
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^(Basic|Bearer)\s+(\S+)$/i.exec(header.trim());
      let token: string | undefined;
      if (m?.[1]!.toLowerCase() === 'bearer') token = m[2];
      else if (m) {
        const plain = Buffer.from(m[2]!, 'base64').toString('utf8');
        const i = plain.indexOf(':');
        token = i >= 0 ? plain.slice(i + 1) : undefined;
      }
      const who = token ? deps.token(token) : null;
      if (!who) {
        log.warn(
          { event: 'registry-token-refused', remote: req.socket.remoteAddress },
          'registry: token refused',
        );
        throw registryError(
          'registry/unauthorized',
          'the registry refused the credentials: use an API token as the password (user name: anything)',
        );
      }
      if (access === 'push' && !who.admin)
        throw registryError(
          'registry/denied',
          'pushing to the site registry needs an administrator API token',
        );
      return;
    }
    if (req.socket instanceof TLSSocket) {
      const client = certificateClient(req.socket);
      if (typeof client === 'string') {
        log.warn(
          { event: 'registry-peer-rejected', reason: client, remote: req.socket.remoteAddress },
          'registry: client certificate rejected',
        );
        throw registryError('registry/unauthorized', client);
      }
      if (client) {
        const decision = deps.clients!.authorize(client);
        if (!decision.ok)
          throw registryError('registry/denied', `${client.spiffeId} may not pull: ${decision.reason}`);
        if (access === 'push')
          throw registryError(
            'registry/denied',
            'node certificates may only pull; pushing needs an administrator API token',
          );
        return;
      }
    }
    if (access === 'pull' && deps.anonymousPull) return;
    throw registryError(
      'registry/unauthorized',
      access === 'pull'
        ? 'authentication required: an API token (as the password) or a node certificate'
        : 'authentication required: an administrator API token (as the password)',
    );
  };
}
