import type { Clock } from '../../lib/base/index.js';
import { mtlsClientOptions } from '../../lib/identity/index.js';
import type { Logger } from '../../lib/log/index.js';
import { createMmiClient, type MmiClient } from '../margo/mmi-client.js';
import type { AgentIdentity } from './identity.js';
import { withVerifiedPeerCache } from './peer-cache.js';
import { securityEvent } from './security.js';

/**
 * The agent's link to its LO: one MMI client that every module uses, presenting the current identity.
 * A renewal (ADR 0380) replaces the identity: every new request then uses the new key and SVID, and the
 * previous client finishes its requests in flight and is closed after the request timeout.
 */
export interface MmiSession {
  /** Always the current identity's client. */
  readonly client: MmiClient;
  readonly url: string;
  identity(): AgentIdentity;
  replace(next: AgentIdentity): void;
  /** A `wrongServerIdentity` security event, at most once a minute. */
  wrongServerIdentity(details: Record<string, unknown>): void;
  close(): void;
}

export function createMmiSession(o: {
  identity: AgentIdentity;
  url: string;
  requestTimeoutMs: number;
  clock: Clock;
  log: Logger;
  userAgent: string;
}): MmiSession {
  const { clock, log } = o;
  let identity = o.identity;
  let lastIdentityEvent = 0;
  const retired = new Map<MmiClient, NodeJS.Timeout>();
  const wrongServerIdentity = (details: Record<string, unknown>) => {
    if (clock.now() - lastIdentityEvent <= 60_000) return;
    lastIdentityEvent = clock.now();
    securityEvent(log, 'wrongServerIdentity', { lo: o.url, ...details });
  };
  const clientFor = (id: AgentIdentity): MmiClient =>
    createMmiClient({
      baseUrl: o.url,
      tls: withVerifiedPeerCache(
        mtlsClientOptions({
          certPem: id.certPem,
          keyPem: id.keyPem,
          anchorsPem: id.anchorsPem,
          now: () => clock.now(),
          onVerify: (r) => {
            if (!r.ok) wrongServerIdentity({ reason: r.reason, presented: r.spiffeId });
          },
        }),
        clock,
      ),
      timeoutMs: o.requestTimeoutMs,
      clock,
      userAgent: o.userAgent,
    });
  let current = clientFor(identity);
  const client: MmiClient = {
    get baseUrl() {
      return current.baseUrl;
    },
    resolve: (p) => current.resolve(p),
    request: (m, p, r) => current.request(m, p, r),
    getManifest: (e, sig) => current.getManifest(e, sig),
    getContent: (u, w, max, sig) => current.getContent(u, w, max, sig),
    putCapabilities: (d, c, sig) => current.putCapabilities(d, c, sig),
    postStatus: (st, sig, at) => current.postStatus(st, sig, at),
    close: () => current.close(),
  };
  return {
    client,
    url: o.url,
    identity: () => identity,
    replace(next) {
      const old = current;
      identity = next;
      current = clientFor(next);
      const t = setTimeout(() => {
        retired.delete(old);
        old.close();
      }, o.requestTimeoutMs);
      t.unref?.();
      retired.set(old, t);
    },
    wrongServerIdentity,
    close() {
      for (const [c, t] of retired) {
        clearTimeout(t);
        c.close();
      }
      retired.clear();
      current.close();
    },
  };
}
