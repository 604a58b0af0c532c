import type { Presence } from '../../lib/contract/index.js';

export interface PresenceThresholds {
  staleAfterMs: number;
  offlineAfterMs: number;
}

/**
 * Presence from the last time a node was heard from (an MMI request or a NATS heartbeat).
 * A node never heard from is `unknown`, never `online`.
 */
export function classifyPresence(lastSeenAt: number | null, now: number, t: PresenceThresholds): Presence {
  if (lastSeenAt === null) return 'unknown';
  const age = now - lastSeenAt;
  if (age < t.staleAfterMs) return 'online';
  if (age < t.offlineAfterMs) return 'stale';
  return 'offline';
}
