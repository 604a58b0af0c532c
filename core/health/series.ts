import type Database from 'better-sqlite3';
import type { SeriesPoint, SiteLink } from '../../lib/contract/index.js';
import { classifyPresence, type Presence, type PresenceThresholds } from '../../lib/model/index.js';

/** The two resolutions of the stored series (ADR 0228). */
export const FINE_STEP_MS = 5 * 60_000;
export const COARSE_STEP_MS = 3_600_000;

export type SeriesName = 'presence' | 'deployments' | 'site';

export interface SampleInput {
  sqlite: Database.Database;
  tenantId: string;
  now: number;
  thresholds: PresenceThresholds;
  liveSeen?: ((siteId: string, uid: string) => number | null) | undefined;
  siteLinks: SiteLink[];
}

/** What one sample of a tenant holds: every series by subject, and each node's presence. */
export interface Sample {
  series: { series: SeriesName; subject: string; values: Record<string, number> }[];
  presence: { uid: string; presence: Presence; lastSeenAt: number | null }[];
}

/**
 * Counts the fleet as it is now: nodes by presence (all but revoked ones), deployment targets by their
 * last reported state, and per site its nodes by presence and whether this server reaches it.
 */
export function takeSample(x: SampleInput): Sample {
  const { sqlite, tenantId, now } = x;
  const nodes = sqlite
    .prepare(
      `SELECT uid, site_id AS siteId, last_seen_at AS lastSeenAt FROM nodes WHERE tenant_id = ? AND state != 'revoked'`,
    )
    .all(tenantId) as { uid: string; siteId: string; lastSeenAt: number | null }[];
  const total: Record<string, number> = { online: 0, stale: 0, offline: 0, unknown: 0 };
  const perSite = new Map<string, Record<string, number>>();
  const presence: Sample['presence'] = [];
  for (const n of nodes) {
    const live = x.liveSeen?.(n.siteId, n.uid) ?? null;
    const seen = live !== null && live > (n.lastSeenAt ?? 0) ? live : n.lastSeenAt;
    const p = classifyPresence(seen, now, x.thresholds);
    total[p]! += 1;
    const s = perSite.get(n.siteId) ?? { online: 0, stale: 0, offline: 0, unknown: 0 };
    s[p]! += 1;
    perSite.set(n.siteId, s);
    presence.push({ uid: n.uid, presence: p, lastSeenAt: seen });
  }
  const states: Record<string, number> = {
    installed: 0,
    installing: 0,
    pending: 0,
    failed: 0,
    removing: 0,
  };
  for (const r of sqlite
    .prepare(
      `SELECT coalesce(t.state, 'pending') AS state, count(*) AS n FROM deployment_targets t
       JOIN deployments d ON d.id = t.deployment_id
       WHERE t.tenant_id = ? AND t.desired = 'present' AND d.state = 'active' GROUP BY 1`,
    )
    .all(tenantId) as { state: string; n: number }[])
    states[r.state] = (states[r.state] ?? 0) + r.n;

  const links = new Map(x.siteLinks.map((l) => [l.siteId, l]));
  const series: Sample['series'] = [
    { series: 'presence', subject: '', values: total },
    { series: 'deployments', subject: '', values: states },
  ];
  const sites = sqlite
    .prepare(`SELECT id, served_by AS servedBy FROM sites WHERE tenant_id = ? ORDER BY id`)
    .all(tenantId) as { id: string; servedBy: 'embedded' | 'remote' }[];
  for (const s of sites) {
    const link = links.get(s.id);
    // Reachable: an embedded site always (it is this server); a remote one while its LO's link is up.
    const reachable =
      s.servedBy === 'embedded' || link?.link === 'connected' || link?.link === 'local' ? 1 : 0;
    series.push({
      series: 'site',
      subject: s.id,
      values: { ...(perSite.get(s.id) ?? { online: 0, stale: 0, offline: 0, unknown: 0 }), reachable },
    });
  }
  return { series, presence };
}

/** When a node entered the presence it has now (from its last-seen time and the thresholds). */
export function presenceSince(
  p: Presence,
  lastSeenAt: number | null,
  now: number,
  t: PresenceThresholds,
): number {
  if (lastSeenAt === null) return now;
  if (p === 'online') return lastSeenAt;
  if (p === 'stale') return lastSeenAt + t.staleAfterMs;
  return lastSeenAt + t.offlineAfterMs;
}

export interface SeriesStore {
  /** Writes a sample into the bucket of `now` at both resolutions (a later sample in a bucket replaces it). */
  write(tenantId: string, now: number, sample: Sample['series']): void;
  /** Removes points older than the retention of their resolution. */
  prune(now: number, retention: { fineMs: number; coarseMs: number }): number;
  read(
    tenantId: string,
    series: SeriesName,
    since: number,
    step: number,
  ): { subject: string; points: SeriesPoint[] }[];
}

export function createSeriesStore(sqlite: Database.Database): SeriesStore {
  const upsert = sqlite.prepare(
    `INSERT INTO metric_samples (tenant_id, series, subject, step, at, "values") VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant_id, series, subject, step, at) DO UPDATE SET "values" = excluded."values"`,
  );
  const prune = sqlite.prepare(`DELETE FROM metric_samples WHERE step = ? AND at < ?`);
  const read = sqlite.prepare(
    `SELECT subject, at, "values" AS v FROM metric_samples
     WHERE tenant_id = ? AND series = ? AND step = ? AND at >= ? ORDER BY subject, at`,
  );
  return {
    write(tenantId, now, sample) {
      const tx = sqlite.transaction(() => {
        for (const step of [FINE_STEP_MS, COARSE_STEP_MS]) {
          const at = Math.floor(now / step) * step;
          for (const s of sample)
            upsert.run(tenantId, s.series, s.subject, step, at, JSON.stringify(s.values));
        }
      });
      tx();
    },
    prune(now, r) {
      return (
        prune.run(FINE_STEP_MS, now - r.fineMs).changes + prune.run(COARSE_STEP_MS, now - r.coarseMs).changes
      );
    },
    read(tenantId, series, since, step) {
      const out = new Map<string, SeriesPoint[]>();
      for (const r of read.all(tenantId, series, step, Math.floor(since / step) * step) as {
        subject: string;
        at: number;
        v: string;
      }[]) {
        const pts = out.get(r.subject) ?? [];
        pts.push({ at: r.at, values: JSON.parse(r.v) as Record<string, number> });
        out.set(r.subject, pts);
      }
      return [...out].map(([subject, points]) => ({ subject, points }));
    },
  };
}
