import type { Presence } from '../../../lib/contract/index.js';

/** What the server said about node presence, and when it said it (from `nodes.list`). */
export interface PresenceReport {
  /** The server's clock when it answered. */
  serverNow: number;
  /** The browser's clock when the answer arrived. */
  receivedAt: number;
  staleAfterSeconds: number;
  offlineAfterSeconds: number;
}

/**
 * Milliseconds since the node was last heard from, measured on the server's clock and advanced by the
 * time elapsed in the browser since the answer arrived (clock skew between the two does not matter).
 * `null` for a node never heard from.
 */
export function lastSeenAge(
  lastSeenAt: number | null,
  report: PresenceReport,
  browserNow: number,
): number | null {
  if (lastSeenAt === null) return null;
  return Math.max(0, report.serverNow - lastSeenAt) + Math.max(0, browserNow - report.receivedAt);
}

/**
 * The presence to show now. The server decides presence; between two fetches its answer grows old, so a
 * node the server called online is shown stale (then offline) once its last-seen age passes the
 * server's own thresholds. This only ever downgrades: nothing the server did not call online is shown
 * online (ADR 0220).
 */
export function presenceNow(
  presence: Presence,
  lastSeenAt: number | null,
  report: PresenceReport,
  browserNow: number,
): Presence {
  const age = lastSeenAge(lastSeenAt, report, browserNow);
  if (age === null || presence === 'unknown' || presence === 'offline') return presence;
  if (age >= report.offlineAfterSeconds * 1000) return 'offline';
  if (age >= report.staleAfterSeconds * 1000 && presence === 'online') return 'stale';
  return presence;
}
