/**
 * Link health from evidence (ADR 0165). nats-server's word that a leaf connection exists is not enough:
 * it kept a dead leaf connection for minutes after a cut, and a link can be "up" while nothing flows. A
 * link is `connected` only while there is fresh evidence that it carries traffic: an answer to the
 * application-level probe over the leaf link, or a message delivered through the link's stream. Once the
 * newest evidence is older than the threshold the link is `unreachable`, since the moment of that
 * evidence, whatever nats-server says.
 */

export type LinkState = 'connected' | 'disconnected' | 'unreachable' | 'unknown';

export interface LinkEvidence {
  /** nats-server's word: a leaf connection to the site exists (undefined: cannot tell, e.g. NATS is down). */
  leafConnected: boolean | undefined;
  /** When the leaf connection was first seen present, in this run (observer clock, ms). */
  leafSince: number | null;
  /** The newest answer to the probe over the link (observer clock, ms). */
  pongAt: number | null;
  /** The newest message delivered through the link's stream (observer clock, ms). */
  deliveryAt: number | null;
}

export interface LinkHealth {
  link: LinkState;
  /** For `unreachable`: since when (the newest evidence, or when the silent leaf appeared). */
  unreachableSince: number | null;
  /** The newest evidence of any kind (observer clock, ms); null when there never was any. */
  lastEvidenceAt: number | null;
  /** The newest evidence is within the threshold: numbers about the link (backlog) can be believed. */
  fresh: boolean;
}

/** The periods derived from the heartbeat period (`nats.heartbeatSeconds`). */
export interface LinkTiming {
  /** How often the CO probes each site's link. */
  pingEveryMs: number;
  /** Evidence older than this makes a link `unreachable` (three heartbeats: one lost beat is no outage). */
  unreachableAfterMs: number;
  /** A linked site whose data does not advance this long, while the link answers probes, is stalled. */
  stallAfterMs: number;
}

export function linkTiming(heartbeatSeconds: number): LinkTiming {
  const hb = heartbeatSeconds * 1000;
  return {
    pingEveryMs: Math.max(250, Math.round(hb / 2)),
    unreachableAfterMs: 3 * hb,
    stallAfterMs: 2 * hb,
  };
}

export function newestOf(...times: (number | null | undefined)[]): number | null {
  let out: number | null = null;
  for (const t of times) if (typeof t === 'number' && (out === null || t > out)) out = t;
  return out;
}

/** Classifies a link from its evidence. Pure: the same evidence and time give the same answer. */
export function linkHealth(e: LinkEvidence, now: number, unreachableAfterMs: number): LinkHealth {
  const last = newestOf(e.pongAt, e.deliveryAt);
  const fresh = last !== null && now - last <= unreachableAfterMs;
  if (e.leafConnected === undefined)
    return { link: 'unknown', unreachableSince: null, lastEvidenceAt: last, fresh };
  if (fresh) {
    return {
      link: e.leafConnected ? 'connected' : 'disconnected',
      unreachableSince: null,
      lastEvidenceAt: last,
      fresh,
    };
  }
  if (last !== null) return { link: 'unreachable', unreachableSince: last, lastEvidenceAt: last, fresh };
  // Never any evidence: a site that never joined is disconnected; a new leaf not probed yet is unknown
  // (never "connected" on nats-server's word alone), and unreachable once it stayed silent too long.
  if (!e.leafConnected) return { link: 'disconnected', unreachableSince: null, lastEvidenceAt: null, fresh };
  if (e.leafSince !== null && now - e.leafSince > unreachableAfterMs)
    return { link: 'unreachable', unreachableSince: e.leafSince, lastEvidenceAt: null, fresh };
  return { link: 'unknown', unreachableSince: null, lastEvidenceAt: null, fresh };
}
