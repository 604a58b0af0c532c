import type Database from 'better-sqlite3';
import type { AttentionItem, AttentionSeverity, NatsState, SiteLink } from '../../lib/contract/index.js';
import { classifyPresence, type PresenceThresholds } from '../../lib/model/index.js';

/** A deployment target told to install that has not reported `installed` this long after is stuck. */
export const STUCK_AFTER_MS = 30 * 60_000;
/** An SVID running out within this long is worth a look. */
export const SVID_EXPIRY_WARNING_MS = 7 * 24 * 3_600_000;
/** Failed calls in the audit log this far back are "recent failures". */
export const RECENT_FAILURES_MS = 24 * 3_600_000;
/** The site CA running out within this long is worth a look (every node must enroll again after it). */
export const CA_EXPIRY_WARNING_MS = 30 * 24 * 3_600_000;
/** A bundle signing key is due for rotation at this age (ADR 0232; minisign keys do not expire). */
export const BUNDLE_KEY_ROTATE_AFTER_MS = 365 * 24 * 3_600_000;
/** ...and worth a look this long before. */
export const BUNDLE_KEY_WARNING_MS = 30 * 24 * 3_600_000;
/** Data from an air-gapped site older than this is a warning, not just information. */
export const AIR_GAP_STALE_AFTER_MS = 7 * 24 * 3_600_000;
/** A group this small is listed node by node (each a link to its node page). */
const LIST_EACH_UP_TO = 3;

const RANK: Record<AttentionSeverity, number> = { critical: 0, warning: 1, info: 2 };

export interface AttentionInput {
  sqlite: Database.Database;
  tenantId: string;
  now: number;
  thresholds: PresenceThresholds;
  liveSeen?: ((siteId: string, uid: string) => number | null) | undefined;
  siteLinks: SiteLink[];
  nats: NatsState | null;
  /** When this server's site CA runs out (ms since epoch); null when it has none. */
  siteCaNotAfter?: number | null | undefined;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const enc = encodeURIComponent;

interface NodeLite {
  uid: string;
  name: string;
  siteId: string;
  lastSeenAt: number | null;
}

/**
 * What needs attention in a tenant's fleet, worst first (critical before warning before info; within a
 * severity the oldest first). Every item carries the console route that resolves it (ADR 0227).
 */
export function collectAttention(x: AttentionInput): AttentionItem[] {
  const { sqlite, tenantId, now } = x;
  const items: AttentionItem[] = [];

  // Nodes: enrolled ones that went quiet, grouped by site and presence.
  const rows = sqlite
    .prepare(
      `SELECT uid, name, site_id AS siteId, last_seen_at AS lastSeenAt FROM nodes
       WHERE tenant_id = ? AND state = 'enrolled'`,
    )
    .all(tenantId) as NodeLite[];
  const groups = new Map<string, NodeLite[]>();
  for (const r of rows) {
    const live = x.liveSeen?.(r.siteId, r.uid) ?? null;
    const seen = live !== null && live > (r.lastSeenAt ?? 0) ? live : r.lastSeenAt;
    const p = classifyPresence(seen, now, x.thresholds);
    if (p !== 'offline' && p !== 'stale') continue;
    const key = `${p}\u0000${r.siteId}`;
    const g = groups.get(key) ?? [];
    g.push({ ...r, lastSeenAt: seen });
    groups.set(key, g);
  }
  for (const [key, g] of groups) {
    const [presence, siteId] = key.split('\u0000') as ['offline' | 'stale', string];
    const kind = presence === 'offline' ? 'nodes-offline' : 'nodes-stale';
    const severity: AttentionSeverity = presence === 'offline' ? 'critical' : 'warning';
    g.sort((a, b) => (a.lastSeenAt ?? 0) - (b.lastSeenAt ?? 0) || a.name.localeCompare(b.name));
    if (g.length <= LIST_EACH_UP_TO) {
      for (const n of g) {
        items.push({
          id: `${kind}/${n.uid}`,
          kind,
          severity,
          title: `Node ${n.name} is ${presence} at ${siteId}`,
          detail:
            presence === 'offline'
              ? 'Not heard from for longer than the offline threshold: its workloads may be down and its states out of date.'
              : 'Heartbeats are late: the node may be overloaded or its network flaky.',
          since: n.lastSeenAt,
          until: null,
          count: 1,
          href: `/nodes/${enc(n.name)}`,
          action: 'Open node',
          siteId,
        });
      }
    } else {
      items.push({
        id: `${kind}/site/${siteId}`,
        kind,
        severity,
        title: `${plural(g.length, 'node')} ${presence} at ${siteId}`,
        detail: `${g
          .slice(0, 5)
          .map((n) => n.name)
          .join(', ')}${g.length > 5 ? ` and ${g.length - 5} more` : ''}.`,
        since: g[0]!.lastSeenAt,
        until: null,
        count: g.length,
        href: `/sites?site=${enc(siteId)}&presence=${presence}`,
        action: `Show ${presence} nodes`,
        siteId,
      });
    }
  }

  // Deployments: failed nodes, nodes stuck installing, rollouts that stopped or wait for someone.
  const deps = sqlite
    .prepare(
      `SELECT d.id, d.name, d.rollout,
         sum(CASE WHEN t.desired = 'present' AND t.state = 'failed' THEN 1 ELSE 0 END) AS failed,
         min(CASE WHEN t.desired = 'present' AND t.state = 'failed' THEN t.state_at END) AS failedSince,
         sum(CASE WHEN t.desired = 'present' AND coalesce(t.state, 'pending') IN ('pending', 'installing')
                   AND t.generation > 0 AND t.assigned_at < @stuckBefore THEN 1 ELSE 0 END) AS stuck,
         min(CASE WHEN t.desired = 'present' AND coalesce(t.state, 'pending') IN ('pending', 'installing')
                   AND t.generation > 0 AND t.assigned_at < @stuckBefore THEN t.assigned_at END) AS stuckSince,
         count(t.node_uid) AS total
       FROM deployments d LEFT JOIN deployment_targets t ON t.deployment_id = d.id
       WHERE d.tenant_id = @tenant AND d.state != 'removed'
       GROUP BY d.id`,
    )
    .all({ tenant: tenantId, stuckBefore: now - STUCK_AFTER_MS }) as {
    id: string;
    name: string;
    rollout: string | null;
    failed: number;
    failedSince: number | null;
    stuck: number;
    stuckSince: number | null;
    total: number;
  }[];
  for (const d of deps) {
    const href = `/deployments/${enc(d.id)}`;
    const rollout = parseRollout(d.rollout);
    if (rollout && (rollout.phase === 'failed' || rollout.phase === 'rolled-back')) {
      items.push({
        id: `rollout/${d.id}`,
        kind: 'deployment-failed',
        severity: 'critical',
        title: `Rollout of ${d.name} ${rollout.phase === 'failed' ? 'stopped' : 'was rolled back'}`,
        detail: rollout.stopReason ?? 'The failure threshold was crossed.',
        since: rollout.endedAt,
        until: null,
        count: d.failed,
        href,
        action: 'Open deployment',
        siteId: null,
      });
    } else if (d.failed > 0) {
      items.push({
        id: `deployment-failed/${d.id}`,
        kind: 'deployment-failed',
        severity: 'critical',
        title: `${d.name} failed on ${plural(d.failed, 'node')} of ${d.total}`,
        detail:
          'The nodes reported a failure installing or running it; the deployment page shows each error.',
        since: d.failedSince,
        until: null,
        count: d.failed,
        href,
        action: 'Open deployment',
        siteId: null,
      });
    }
    if (d.stuck > 0) {
      items.push({
        id: `deployment-stuck/${d.id}`,
        kind: 'deployment-stuck',
        severity: 'warning',
        title: `${d.name} not installed on ${plural(d.stuck, 'node')} after ${Math.round(STUCK_AFTER_MS / 60_000)} minutes`,
        detail: 'Told to install it but not reporting it installed: offline, pulling slowly, or stuck.',
        since: d.stuckSince,
        until: null,
        count: d.stuck,
        href,
        action: 'Open deployment',
        siteId: null,
      });
    }
    if (rollout && rollout.paused && rollout.phase !== 'complete') {
      items.push({
        id: `rollout-paused/${d.id}`,
        kind: 'rollout-paused',
        severity: 'warning',
        title: `Rollout of ${d.name} is paused`,
        detail: 'An operator paused it; resume it from the deployment page.',
        since: null,
        until: null,
        count: 1,
        href,
        action: 'Open deployment',
        siteId: null,
      });
    } else if (rollout && rollout.phase === 'canary-hold' && rollout.manualPromote) {
      items.push({
        id: `rollout-promote/${d.id}`,
        kind: 'rollout-paused',
        severity: 'info',
        title: `Canary of ${d.name} waits to be promoted`,
        detail: 'The canary nodes installed it; promote the rollout to continue.',
        since: rollout.canaryInstalledAt,
        until: null,
        count: 1,
        href,
        action: 'Open deployment',
        siteId: null,
      });
    }
  }

  // Sites: links down, and how old the data from them is.
  const remote = new Set(
    (
      sqlite.prepare(`SELECT id FROM sites WHERE tenant_id = ? AND served_by = 'remote'`).all(tenantId) as {
        id: string;
      }[]
    ).map((r) => r.id),
  );
  for (const l of x.siteLinks) {
    if (!remote.has(l.siteId) || l.link !== 'disconnected') continue;
    const age = l.dataAgeSeconds ?? l.lastContactSeconds;
    items.push({
      id: `site-disconnected/${l.siteId}`,
      kind: 'site-disconnected',
      severity: 'critical',
      title: `Site ${l.siteId} is disconnected`,
      detail:
        age === null
          ? 'Its LO has not linked to this server yet; what the console shows about it may be out of date.'
          : `Its LO keeps running and queues what happens there; the newest data from it is ${formatSeconds(age)} old.`,
      since: l.since,
      until: null,
      count: 1,
      href: `/sites?site=${enc(l.siteId)}`,
      action: 'Open site',
      siteId: l.siteId,
    });
  }

  // Air-gapped sites: how old the newest data is, from the last status bundle imported from each.
  const gapped = sqlite
    .prepare(
      `SELECT s.id, s.created_at AS createdAt, b.last_imported_at AS importedAt, b.last_imported AS imported
       FROM sites s LEFT JOIN bundle_streams b ON b.kind = 'site-to-hq' AND b.source = s.id
       WHERE s.tenant_id = ? AND s.air_gapped = 1 ORDER BY s.id`,
    )
    .all(tenantId) as { id: string; createdAt: number; importedAt: number | null; imported: string | null }[];
  const seenSites = new Set<string>();
  for (const g of gapped) {
    // Several HQ ids may have imported from one site: the newest import speaks for it.
    if (seenSites.has(g.id)) continue;
    const newest = gapped
      .filter((x) => x.id === g.id)
      .sort((a, b) => (b.importedAt ?? 0) - (a.importedAt ?? 0))[0]!;
    seenSites.add(g.id);
    const created = bundleCreated(newest.imported) ?? newest.importedAt;
    const age = created === null ? null : Math.max(0, now - created);
    items.push({
      id: `site-air-gapped/${g.id}`,
      kind: 'site-air-gapped',
      severity: age === null || age > AIR_GAP_STALE_AFTER_MS ? 'warning' : 'info',
      title:
        age === null
          ? `Air-gapped site ${g.id}: no status bundle imported yet`
          : `Air-gapped site ${g.id}: data ${formatSeconds(age / 1000)} old`,
      detail:
        age === null
          ? 'Nothing from it has arrived: what the console shows about its nodes is what was entered here. Import a status bundle from the site.'
          : `What the console shows about it comes from the last status bundle imported${newest.importedAt !== null ? ` (${formatSeconds(Math.max(0, now - newest.importedAt) / 1000)} ago)` : ''}; import a newer one to refresh it.`,
      since: created ?? g.createdAt,
      until: null,
      count: 1,
      href: `/airgap?site=${enc(g.id)}`,
      action: 'Open air gap',
      siteId: g.id,
    });
  }

  // The site CA of this server (when it serves sites of this tenant): every SVID ends with it.
  const servesHere =
    (
      sqlite
        .prepare(`SELECT count(*) AS n FROM sites WHERE tenant_id = ? AND served_by = 'embedded'`)
        .get(tenantId) as { n: number }
    ).n > 0;
  if (servesHere && x.siteCaNotAfter != null && x.siteCaNotAfter < now + CA_EXPIRY_WARNING_MS) {
    const expired = x.siteCaNotAfter <= now;
    items.push({
      id: 'site-ca-expiring',
      kind: 'site-ca-expiring',
      severity: expired ? 'critical' : 'warning',
      title: expired ? 'The site CA has expired' : 'The site CA expires soon',
      detail: `Every node identity it issued ends with it. An administrator makes a new one (edgectl site init-ca --force) and the nodes enroll again.`,
      since: null,
      until: x.siteCaNotAfter,
      count: 1,
      href: '/settings',
      action: 'Open settings',
      siteId: null,
    });
  }

  // The bundle signing key (when this tenant has air-gapped sites): due for rotation by its age.
  if (gapped.length > 0) {
    const key = sqlite
      .prepare(
        `SELECT key_id AS keyId, created_at AS createdAt FROM bundle_keys WHERE retired_at IS NULL
         ORDER BY created_at DESC LIMIT 1`,
      )
      .get() as { keyId: string; createdAt: number } | undefined;
    const due = key ? key.createdAt + BUNDLE_KEY_ROTATE_AFTER_MS : null;
    if (key && due !== null && due < now + BUNDLE_KEY_WARNING_MS) {
      items.push({
        id: `bundle-key-expiring/${key.keyId}`,
        kind: 'bundle-key-expiring',
        severity: 'warning',
        title:
          due <= now
            ? `The bundle signing key ${key.keyId} is due for rotation`
            : `The bundle signing key ${key.keyId} is due for rotation soon`,
        detail:
          'Keys are rotated yearly: rotate it on the Air gap page; the next bundle carries the rotation to the sites.',
        since: null,
        until: due,
        count: 1,
        href: '/airgap',
        action: 'Open air gap',
        siteId: null,
      });
    }
  }

  // Identities: the newest live SVID of each enrolled node, when it runs out soon or already did.
  const svids = sqlite
    .prepare(
      `SELECT n.name, n.site_id AS siteId, max(s.not_after) AS notAfter
       FROM nodes n JOIN svids s ON s.client_id = n.uid AND s.revoked_at IS NULL
       WHERE n.tenant_id = ? AND n.state = 'enrolled'
       GROUP BY n.uid HAVING max(s.not_after) < ?`,
    )
    .all(tenantId, now + SVID_EXPIRY_WARNING_MS) as { name: string; siteId: string; notAfter: number }[];
  for (const s of svids) {
    const expired = s.notAfter <= now;
    items.push({
      id: `svid-expiring/${s.name}`,
      kind: 'svid-expiring',
      severity: expired ? 'critical' : 'warning',
      title: expired ? `The identity of ${s.name} has expired` : `The identity of ${s.name} expires soon`,
      detail: expired
        ? 'Its SVID ran out: the node can no longer reach its LO. Enroll it again with a new token.'
        : 'The agent renews its SVID on its own while it can reach its LO; if it is offline, it may run out.',
      since: null,
      until: s.notAfter,
      count: 1,
      href: `/nodes/${enc(s.name)}`,
      action: 'Open node',
      siteId: s.siteId,
    });
  }

  if (
    x.nats &&
    (x.nats.state === 'failed' || x.nats.state === 'missing-binary' || x.nats.state === 'stopped')
  ) {
    items.push({
      id: 'nats-down',
      kind: 'nats-down',
      severity: 'critical',
      title: `The message bus is ${x.nats.state === 'missing-binary' ? 'missing' : x.nats.state}`,
      detail: x.nats.message ?? 'Presence and status from nodes over the bus do not arrive.',
      since: x.nats.since,
      until: null,
      count: 1,
      href: '/settings',
      action: 'Open settings',
      siteId: null,
    });
  }

  const failures = sqlite
    .prepare(
      `SELECT count(*) AS n, min(at) AS since FROM audit WHERE tenant_id = ? AND result = 'error' AND at >= ?`,
    )
    .get(tenantId, now - RECENT_FAILURES_MS) as { n: number; since: number | null };
  if (failures.n > 0) {
    items.push({
      id: 'recent-failures',
      kind: 'recent-failures',
      severity: 'info',
      title: `${plural(failures.n, 'call')} failed in the last 24 hours`,
      detail: 'Refused or failed operator and agent calls, with their error, in the audit log.',
      since: failures.since,
      until: null,
      count: failures.n,
      href: '/audit?result=error',
      action: 'Open audit log',
      siteId: null,
    });
  }

  return items.sort(
    (a, b) =>
      RANK[a.severity] - RANK[b.severity] ||
      (a.since ?? a.until ?? Infinity) - (b.since ?? b.until ?? Infinity) ||
      a.title.localeCompare(b.title),
  );
}

function parseRollout(json: string | null): {
  phase: string;
  paused: boolean;
  manualPromote: boolean;
  stopReason: string | null;
  endedAt: number | null;
  canaryInstalledAt: number | null;
} | null {
  if (!json) return null;
  try {
    const p = JSON.parse(json) as {
      phase?: string;
      signals?: { paused?: boolean; promoted?: boolean };
      strategy?: { kind?: string; promote?: unknown };
      stopReason?: string | null;
      endedAt?: number | null;
      canaryInstalledAt?: number | null;
    };
    return {
      phase: p.phase ?? 'rolling',
      paused: p.signals?.paused === true,
      manualPromote: p.strategy?.promote === 'manual' && p.signals?.promoted !== true,
      stopReason: p.stopReason ?? null,
      endedAt: p.endedAt ?? null,
      canaryInstalledAt: p.canaryInstalledAt ?? null,
    };
  } catch {
    return null;
  }
}

/** The creation time a stored bundle summary (JSON) carries, if any. */
function bundleCreated(json: string | null): number | null {
  if (!json) return null;
  try {
    const v = (JSON.parse(json) as { created?: unknown }).created;
    return typeof v === 'number' ? v : null;
  } catch {
    return null;
  }
}

function formatSeconds(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}
