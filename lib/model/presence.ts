/**
 * Presence of a node (ADR 0164): from the last time it was heard from (an MMI request or a bus heartbeat)
 * and two thresholds. A node never heard from is `unknown`, never `online`.
 */
export const PRESENCES = ['online', 'stale', 'offline', 'unknown'] as const;
export type Presence = (typeof PRESENCES)[number];

export interface PresenceThresholds {
  staleAfterMs: number;
  offlineAfterMs: number;
}

export function classifyPresence(lastSeenAt: number | null, now: number, t: PresenceThresholds): Presence {
  if (lastSeenAt === null) return 'unknown';
  const age = now - lastSeenAt;
  if (age < t.staleAfterMs) return 'online';
  if (age < t.offlineAfterMs) return 'stale';
  return 'offline';
}

/** The worse of two presences (a reported "online" never beats what the age says). */
export function worsePresence(a: Presence, b: Presence): Presence {
  const rank = { online: 0, stale: 1, offline: 2, unknown: 3 } as const;
  return rank[a] >= rank[b] ? a : b;
}
