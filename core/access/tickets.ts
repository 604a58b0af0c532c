import crypto from 'node:crypto';
import type { Clock } from '../../lib/base/index.js';
import type { Principal } from '../../lib/contract/index.js';

/**
 * One-time tickets for the event stream (ADR 0523): clients that cannot send an Authorization header
 * (a browser's EventSource) ask for a ticket with their token and open `/api/v1/events?ticket=...`.
 * A ticket works once, within `ttlMs`, and only while the token it was made with is still valid; an
 * API token itself is never accepted in a URL.
 */
export interface TicketBook {
  issue(principal: Principal, tenantId: string): { ticket: string; expiresAt: number };
  /** The principal and tenant of a ticket (and the ticket is spent), or null. */
  redeem(ticket: string): { principal: Principal; tenantId: string } | null;
  readonly size: number;
}

export interface TicketBookOptions {
  clock: Clock;
  ttlMs?: number;
  /** Most tickets outstanding at once; the oldest go first (default 10,000). */
  max?: number;
  /** Is the principal still valid (its token not revoked or expired)? */
  stillValid(principal: Principal): boolean;
}

export function createTicketBook(opts: TicketBookOptions): TicketBook {
  const ttlMs = opts.ttlMs ?? 30_000;
  const max = opts.max ?? 10_000;
  const tickets = new Map<string, { principal: Principal; tenantId: string; expiresAt: number }>();
  const prune = (now: number) => {
    for (const [k, v] of tickets) if (v.expiresAt <= now) tickets.delete(k);
    while (tickets.size >= max) tickets.delete(tickets.keys().next().value!);
  };
  return {
    issue(principal, tenantId) {
      const now = opts.clock.now();
      prune(now);
      const ticket = `opk_${crypto.randomBytes(24).toString('base64url')}`;
      let expiresAt = now + ttlMs;
      if (principal.expiresAt != null) expiresAt = Math.min(expiresAt, principal.expiresAt);
      tickets.set(ticket, { principal, tenantId, expiresAt });
      return { ticket, expiresAt };
    },
    redeem(ticket) {
      const t = tickets.get(ticket);
      if (!t) return null;
      tickets.delete(ticket);
      if (t.expiresAt <= opts.clock.now()) return null;
      if (!opts.stillValid(t.principal)) return null;
      return { principal: t.principal, tenantId: t.tenantId };
    },
    get size() {
      return tickets.size;
    },
  };
}
