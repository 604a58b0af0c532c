import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstream, StorageType } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { classifyPresence, type Presence } from '../../lib/model/index.js';
import {
  loSubject,
  nodeToken,
  nodeUidFromToken,
  presenceBucket,
  siteNodesSubject,
} from '../../lib/bus/index.js';

/**
 * Presence (ADR 0164): agents heartbeat on `outpost.site.<site>.node.<node>.presence`; the LO keeps
 * last-seen per node in memory, persists it in the JetStream KV bucket `OUTPOST_PRESENCE_<site>`
 * (so a restarted LO remembers), and classifies every node by the configured thresholds:
 * online (age < staleAfter), stale (age < offlineAfter), offline (older), unknown (never seen). Changes go
 * upward as `outpost.site.<site>.lo.presence`, and an LO heartbeat with the counts as
 * `outpost.site.<site>.lo.heartbeat`, both through the site's upward stream.
 */

/** The tracker's thresholds, in seconds as configured (`messaging.presence`). */
export interface PresenceThresholdSeconds {
  staleAfterSeconds: number;
  offlineAfterSeconds: number;
}

/** lib/model's classification with thresholds in seconds. */
export function classifyBySeconds(
  lastSeen: number | null,
  now: number,
  t: PresenceThresholdSeconds,
): Presence {
  return classifyPresence(lastSeen, now, {
    staleAfterMs: t.staleAfterSeconds * 1000,
    offlineAfterMs: t.offlineAfterSeconds * 1000,
  });
}

export interface PresenceEntry {
  siteId: string;
  nodeUid: string;
  state: Presence;
  /** Last heartbeat (ms since epoch, the observer's clock); null when never seen. */
  lastSeen: number | null;
  /** Seconds since `lastSeen`; null when never seen. */
  ageSeconds: number | null;
}

export interface PresenceChange {
  siteId: string;
  nodeUid: string;
  state: Presence;
  previous: Presence;
  lastSeen: number | null;
  at: number;
}

export interface PresenceCounts {
  online: number;
  stale: number;
  offline: number;
  unknown: number;
}

export interface PresenceTrackerOptions {
  nc: NatsConnection;
  siteId: string;
  thresholds: PresenceThresholdSeconds;
  /** Nodes enrolled at the site (listed as offline until they heartbeat). */
  knownNodes: () => string[];
  clock: Clock;
  logger: Logger;
  heartbeatSeconds: number;
  /** How often states are re-evaluated (default 1 s). */
  scanIntervalMs?: number;
  /** Publish changes and the LO heartbeat into the upward stream (default true). */
  upward?: boolean;
}

export interface PresenceTracker {
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): PresenceEntry[];
  get(nodeUid: string): PresenceEntry;
  counts(): PresenceCounts;
  onChange(cb: (c: PresenceChange) => void): () => void;
  /** Heartbeats received since start (for diagnostics and benchmarks). */
  received(): number;
}

interface Seen {
  lastSeen: number | null;
  persisted: number | null;
  state: Presence;
}

export function createPresenceTracker(o: PresenceTrackerOptions): PresenceTracker {
  const { nc, siteId, clock, logger } = o;
  const seen = new Map<string, Seen>();
  const tokens = new Map<string, string>();
  const listeners = new Set<(c: PresenceChange) => void>();
  // Last-seen is persisted for a restarted LO, not for every heartbeat: one write per node per stale
  // period is enough (a node that keeps beating is online again within one heartbeat after a restart).
  const persistEveryMs = o.thresholds.staleAfterSeconds * 1000;
  let kv: KV | undefined;
  let sub: Subscription | undefined;
  let scanTimer: NodeJS.Timeout | undefined;
  let hbTimer: NodeJS.Timeout | undefined;
  let flushing = false;
  let count = 0;
  let stopped = false;
  let stopRequested = false;
  const js = jetstream(nc);

  const uidOf = (token: string): string | undefined => {
    let uid = tokens.get(token);
    if (uid === undefined) {
      try {
        uid = nodeUidFromToken(token);
      } catch {
        return undefined;
      }
      tokens.set(token, uid);
    }
    return uid;
  };

  const entryOf = (nodeUid: string, s: Seen | undefined, now: number): PresenceEntry => {
    const lastSeen = s?.lastSeen ?? null;
    return {
      siteId,
      nodeUid,
      state: classifyBySeconds(lastSeen, now, o.thresholds),
      lastSeen,
      ageSeconds: lastSeen === null ? null : Math.max(0, (now - lastSeen) / 1000),
    };
  };

  const publishUp = (subject: string, body: unknown) => {
    if (o.upward === false || stopped) return;
    js.publish(subject, JSON.stringify(body), { timeout: 10_000 }).catch((err: unknown) => {
      logger.debug({ err, subject }, 'upward presence report not stored');
    });
  };

  const scan = () => {
    const now = clock.now();
    for (const uid of o.knownNodes())
      if (!seen.has(uid)) seen.set(uid, { lastSeen: null, persisted: null, state: 'unknown' });
    for (const [uid, s] of seen) {
      const state = classifyBySeconds(s.lastSeen, now, o.thresholds);
      if (state === s.state) continue;
      const change: PresenceChange = {
        siteId,
        nodeUid: uid,
        state,
        previous: s.state,
        lastSeen: s.lastSeen,
        at: now,
      };
      s.state = state;
      publishUp(loSubject(siteId, 'presence'), change);
      for (const l of listeners) {
        try {
          l(change);
        } catch (err) {
          logger.warn({ err }, 'presence listener failed');
        }
      }
    }
    void flush();
  };

  const flush = async () => {
    if (!kv || flushing || stopped) return;
    flushing = true;
    try {
      const batch: Promise<unknown>[] = [];
      for (const [uid, s] of seen) {
        if (s.lastSeen === null) continue;
        if (s.persisted !== null && s.lastSeen - s.persisted < persistEveryMs) continue;
        const at = s.lastSeen;
        batch.push(
          kv.put(nodeToken(uid), JSON.stringify({ lastSeen: at })).then(() => {
            s.persisted = Math.max(s.persisted ?? 0, at);
          }),
        );
        if (batch.length >= 500) await Promise.allSettled(batch.splice(0));
      }
      await Promise.allSettled(batch);
    } catch (err) {
      logger.debug({ err }, 'presence flush failed');
    } finally {
      flushing = false;
    }
  };

  const counts = (): PresenceCounts => {
    const now = clock.now();
    const c: PresenceCounts = { online: 0, stale: 0, offline: 0, unknown: 0 };
    for (const s of seen.values()) c[classifyBySeconds(s.lastSeen, now, o.thresholds)]++;
    return c;
  };

  const loHeartbeat = () => {
    publishUp(loSubject(siteId, 'heartbeat'), { at: clock.now(), counts: counts() });
    hbTimer = setTimeout(loHeartbeat, o.heartbeatSeconds * 1000);
    hbTimer.unref?.();
  };

  return {
    async start() {
      const kvm = new Kvm(nc);
      kv = await kvm.create(presenceBucket(siteId), { history: 1, storage: StorageType.File });
      const keys = await kv.keys();
      const loaded: string[] = [];
      for await (const k of keys) loaded.push(k);
      for (const k of loaded) {
        const uid = uidOf(k);
        if (!uid) continue;
        const e = await kv.get(k);
        if (!e || e.operation !== 'PUT') continue;
        try {
          const { lastSeen } = e.json<{ lastSeen: number }>();
          const cur = seen.get(uid);
          if (!cur || (cur.lastSeen ?? 0) < lastSeen) {
            seen.set(uid, {
              lastSeen,
              persisted: lastSeen,
              state: classifyBySeconds(lastSeen, clock.now(), o.thresholds),
            });
          }
        } catch {
          /* ignore a malformed entry */
        }
      }
      for (const uid of o.knownNodes())
        if (!seen.has(uid)) seen.set(uid, { lastSeen: null, persisted: null, state: 'unknown' });
      if (stopRequested) return;
      sub = nc.subscribe(siteNodesSubject(siteId, 'presence'), {
        callback: (err, msg) => {
          if (err) return;
          const token = msg.subject.split('.')[4];
          const uid = token === undefined ? undefined : uidOf(token);
          if (!uid) return;
          count++;
          const now = clock.now();
          const s = seen.get(uid);
          if (s) s.lastSeen = now;
          else seen.set(uid, { lastSeen: now, persisted: null, state: 'unknown' });
        },
      });
      const every = o.scanIntervalMs ?? 1000;
      scanTimer = setInterval(scan, every);
      scanTimer.unref?.();
      loHeartbeat();
    },
    async stop() {
      stopRequested = true;
      clearInterval(scanTimer);
      clearTimeout(hbTimer);
      sub?.unsubscribe();
      await flush();
      stopped = true;
    },
    list() {
      const now = clock.now();
      const uids = new Set([...o.knownNodes(), ...seen.keys()]);
      return [...uids].sort().map((uid) => entryOf(uid, seen.get(uid), now));
    },
    get: (nodeUid) => entryOf(nodeUid, seen.get(nodeUid), clock.now()),
    counts,
    onChange(cb) {
      listeners.add(cb);
      return () => listeners.delete(cb);
    },
    received: () => count,
  };
}
