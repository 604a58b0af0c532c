import { and, asc, eq, sql } from 'drizzle-orm';
import type { CoreModule } from '../module.js';
import type { Config } from '../config.js';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { EventHub } from '../events.js';
import { nodeDevices, nodes, orchestrators, sites } from '../store/schema/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import type { AuditEntry, Node, Orchestrator, Site } from '../../lib/contract/index.js';
import { nodeDetail } from './node-detail.js';
import { nodeUid, toNodeView, type NodeRow } from './node-view.js';
import { listNodes } from './list-nodes.js';
import type { PresenceThresholds } from '../../lib/model/index.js';

export interface FleetModuleDeps {
  config: Config;
  store: Store;
  clock: Clock;
  events: EventHub;
  /** How many deployments still target a node (set by the deployments module); a node in use cannot be removed. */
  deploymentsOnNode?: (uid: string) => number;
  /** Last heartbeat seen on the message bus (not yet written to the database), when NATS runs. */
  liveSeen?: (siteId: string, uid: string) => number | null;
  /** Audit entries about one target, newest first (for the node page). */
  auditAbout?: (tenantId: string, target: string, limit: number) => AuditEntry[];
}

export interface Fleet {
  thresholds(): PresenceThresholds;
  /** Node row by global uid (the Margo client id), any tenant. */
  nodeByUid(uid: string): NodeRow | undefined;
  nodeByName(tenantId: string, name: string): NodeRow | undefined;
  /** Many node rows at once (one query), by uid. */
  nodesByUids(uids: string[]): Map<string, NodeRow>;
  listNodeRows(tenantId: string, siteId?: string): NodeRow[];
  siteExists(tenantId: string, siteId: string): boolean;
  /** Creates the node record if needed (enrollment of a node the operator named). */
  ensureNode(tenantId: string, name: string, siteId: string): NodeRow;
  markSeen(uid: string, at: number): void;
  /**
   * A node reported by the remote LO serving `tenantId`'s site `siteId` (the tenant is the one the
   * site's bus link was issued for, never guessed from site ids, which tenants may share): its record is
   * created or updated (state, capabilities, last seen). Undefined when that tenant has no such remote
   * site, or a node of that name lives at another of its sites.
   */
  upsertRemoteNode(
    tenantId: string,
    siteId: string,
    n: {
      nodeName: string;
      state: 'registered' | 'enrolled' | 'revoked';
      capabilities: unknown;
      capabilitiesAt: number | null;
      at: number;
    },
  ): NodeRow | undefined;
  /** Sites of the tenant served by a remote LO. */
  remoteSites(tenantId: string): string[];
  /** The node a remote LO means by `<its tenant>.<name>` at `tenantId`'s site `siteId`, in this CO's records. */
  remoteNode(tenantId: string, siteId: string, loClientId: string): NodeRow | undefined;
  /** Whether a site is reached only by bundles. */
  isAirGapped(tenantId: string, siteId: string): boolean;
  /** The tenant owning a site id, when exactly one does. */
  siteTenant(siteId: string): string | undefined;
  view(row: NodeRow, now?: number): Node;
}

type SiteRow = typeof sites.$inferSelect;
type OrchestratorRow = typeof orchestrators.$inferSelect;

/**
 * Sites (and their LOs) and nodes: the operator's model of the fleet. Tenants and tokens: core/access.
 */
export function createFleetModule(deps: FleetModuleDeps): CoreModule & { fleet: Fleet } {
  const { store, clock, events, config } = deps;
  const db = store.db;
  const thresholds = (): PresenceThresholds => ({
    staleAfterMs: config.nats.staleAfterSeconds * 1000,
    offlineAfterMs: config.nats.offlineAfterSeconds * 1000,
  });

  /** Presence is the newest of: the database's last-seen (MMI requests) and the bus's last heartbeat. */
  const live = <T extends NodeRow | undefined>(row: T): T => {
    if (!row || !deps.liveSeen) return row;
    const seen = deps.liveSeen(row.siteId, row.uid);
    return seen !== null && seen > (row.lastSeenAt ?? 0) ? { ...row, lastSeenAt: seen } : row;
  };
  const nodeRow = (tenantId: string, name: string) =>
    live(
      db
        .select()
        .from(nodes)
        .where(and(eq(nodes.tenantId, tenantId), eq(nodes.name, name)))
        .get() as NodeRow | undefined,
    );
  const requireNode = (tenantId: string, name: string) => {
    const r = nodeRow(tenantId, name);
    if (!r) throw errors.notFound('node', name);
    return r;
  };
  const childrenOf = (uid: string) =>
    db
      .select({ deviceId: nodeDevices.deviceId, updatedAt: nodeDevices.updatedAt })
      .from(nodeDevices)
      .where(eq(nodeDevices.nodeUid, uid))
      .orderBy(asc(nodeDevices.deviceId))
      .all();
  const view = (row: NodeRow, now = clock.now()) => toNodeView(row, now, thresholds(), childrenOf(row.uid));

  const siteRow = (tenantId: string, id: string) =>
    db
      .select()
      .from(sites)
      .where(and(eq(sites.tenantId, tenantId), eq(sites.id, id)))
      .get();
  const requireSite = (tenantId: string, id: string) => {
    const s = siteRow(tenantId, id);
    if (!s) throw errors.notFound('site', id);
    return s;
  };
  const countNodesBySite = store.sqlite.prepare(
    'SELECT count(*) AS n FROM nodes WHERE tenant_id = ? AND site_id = ?',
  );
  const orchestratorView = (o: OrchestratorRow): Orchestrator => ({
    id: o.id,
    siteId: o.siteId,
    name: o.name,
    mmiUrl: o.mmiUrl,
    caFingerprint: o.caFingerprint,
    embedded: false,
    lastSeenAt: o.lastSeenAt,
    createdAt: o.createdAt,
  });
  const streamQ = store.sqlite.prepare(
    `SELECT kind, last_exported_at AS exportedAt, last_exported AS exported, last_imported_at AS importedAt, last_imported AS imported
     FROM bundle_streams WHERE (kind = 'hq-to-site' AND target = ?) OR (kind = 'site-to-hq' AND source = ?)`,
  );
  /** The newest bundle each way (HQ wrote to the site; the site's status bundle HQ imported). */
  const bundlesOf = (siteId: string): Site['bundles'] => {
    const rows = streamQ.all(siteId, siteId) as {
      kind: string;
      exportedAt: number | null;
      exported: string | null;
      importedAt: number | null;
      imported: string | null;
    }[];
    let toSite: NonNullable<Site['bundles']>['toSite'] = null;
    let fromSite: NonNullable<Site['bundles']>['fromSite'] = null;
    for (const r of rows) {
      if (r.kind === 'hq-to-site' && r.exported && r.exportedAt !== null) {
        const e = JSON.parse(r.exported) as { sequence: number; created: number };
        if (!toSite || e.sequence > toSite.sequence)
          toSite = { sequence: e.sequence, created: e.created, at: r.exportedAt };
      }
      if (r.kind === 'site-to-hq' && r.imported && r.importedAt !== null) {
        const e = JSON.parse(r.imported) as { sequence: number; created: number };
        if (!fromSite || e.sequence > fromSite.sequence)
          fromSite = { sequence: e.sequence, created: e.created, at: r.importedAt };
      }
    }
    if (!toSite && !fromSite) return null;
    return {
      toSite,
      fromSite,
      lastBundleAt: Math.max(toSite?.created ?? 0, fromSite?.created ?? 0) || null,
      asOf: fromSite?.created ?? null,
    };
  };
  const siteView = (s: SiteRow): Site => {
    const o = db
      .select()
      .from(orchestrators)
      .where(and(eq(orchestrators.tenantId, s.tenantId), eq(orchestrators.siteId, s.id)))
      .get();
    return {
      id: s.id,
      name: s.name,
      description: s.description,
      labels: s.labels,
      servedBy: s.servedBy,
      orchestrator: o ? orchestratorView(o) : null,
      airGapped: s.airGapped,
      bundles: bundlesOf(s.id),
      nodeCount: (countNodesBySite.get(s.tenantId, s.id) as { n: number }).n,
      createdAt: s.createdAt,
    };
  };

  const fleet: Fleet = {
    thresholds,
    nodeByUid: (uid) => live(db.select().from(nodes).where(eq(nodes.uid, uid)).get() as NodeRow | undefined),
    nodeByName: nodeRow,
    nodesByUids(uids) {
      const out = new Map<string, NodeRow>();
      const stmt = store.sqlite.prepare(
        `SELECT uid, tenant_id AS tenantId, name, site_id AS siteId, model_id AS modelId, labels, cordoned, state, NULL AS capabilities,
           capabilities_at AS capabilitiesAt, last_seen_at AS lastSeenAt, enrolled_at AS enrolledAt, revoked_at AS revokedAt, created_at AS createdAt
         FROM nodes WHERE uid IN (SELECT value FROM json_each(?))`,
      );
      for (const r of stmt.all(JSON.stringify(uids)) as (Omit<NodeRow, 'labels' | 'cordoned'> & {
        labels: string;
        cordoned: number;
      })[]) {
        out.set(
          r.uid,
          live({ ...r, labels: JSON.parse(r.labels) as Record<string, string>, cordoned: r.cordoned === 1 }),
        );
      }
      return out;
    },
    listNodeRows: (tenantId, siteId) =>
      db
        .select()
        .from(nodes)
        .where(
          siteId ? and(eq(nodes.tenantId, tenantId), eq(nodes.siteId, siteId)) : eq(nodes.tenantId, tenantId),
        )
        .orderBy(asc(nodes.name))
        .all()
        .map((r) => live(r as NodeRow)),
    siteExists: (tenantId, siteId) => siteRow(tenantId, siteId) !== undefined,
    ensureNode(tenantId, name, siteId) {
      const existing = nodeRow(tenantId, name);
      if (existing) {
        if (existing.siteId !== siteId)
          throw new OutpostError(
            'conflict',
            `node "${name}" belongs to site "${existing.siteId}", not "${siteId}"`,
          );
        return existing;
      }
      requireSite(tenantId, siteId);
      db.insert(nodes)
        .values({
          uid: nodeUid(tenantId, name),
          tenantId,
          name,
          siteId,
          labels: {},
          state: 'registered',
          createdAt: clock.now(),
        })
        .run();
      events.changed(tenantId, 'nodes', 'sites');
      return nodeRow(tenantId, name)!;
    },
    upsertRemoteNode(tenantId, siteId, n) {
      if (siteRow(tenantId, siteId)?.servedBy !== 'remote') return undefined;
      const existing = nodeRow(tenantId, n.nodeName);
      if (existing && existing.siteId !== siteId) return undefined;
      const values = {
        state: n.state,
        capabilities: n.capabilities,
        capabilitiesAt: n.capabilitiesAt,
        lastSeenAt: Math.max(existing?.lastSeenAt ?? 0, n.at),
        ...(n.state === 'enrolled' && !existing?.enrolledAt ? { enrolledAt: n.at } : {}),
        ...(n.state === 'revoked' ? { revokedAt: n.at } : {}),
      };
      if (existing) db.update(nodes).set(values).where(eq(nodes.uid, existing.uid)).run();
      else
        db.insert(nodes)
          .values({
            uid: nodeUid(tenantId, n.nodeName),
            tenantId,
            name: n.nodeName,
            siteId,
            labels: {},
            createdAt: n.at,
            ...values,
          })
          .run();
      events.changed(tenantId, 'nodes', 'sites');
      return nodeRow(tenantId, n.nodeName);
    },
    remoteSites(tenantId) {
      return (
        store.sqlite
          .prepare(`SELECT id FROM sites WHERE tenant_id = ? AND served_by = 'remote'`)
          .all(tenantId) as { id: string }[]
      ).map((r) => r.id);
    },
    isAirGapped: (tenantId, siteId) => siteRow(tenantId, siteId)?.airGapped ?? false,
    siteTenant(siteId) {
      const owners = store.sqlite.prepare('SELECT tenant_id AS t FROM sites WHERE id = ?').all(siteId) as {
        t: string;
      }[];
      return owners.length === 1 ? owners[0]!.t : undefined;
    },
    remoteNode(tenantId, siteId, loClientId) {
      const row = nodeRow(tenantId, loClientId.slice(loClientId.indexOf('.') + 1));
      return row?.siteId === siteId ? row : undefined;
    },
    markSeen(uid, at) {
      store.sqlite
        .prepare('UPDATE nodes SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE uid = ?')
        .run(at, uid);
    },
    view,
  };

  const countStmt = {
    sites: store.sqlite.prepare('SELECT count(*) AS n FROM sites WHERE tenant_id = ?'),
    nodes: store.sqlite.prepare('SELECT count(*) AS n FROM nodes WHERE tenant_id = ?'),
  };

  return {
    name: 'fleet',
    fleet,
    counts: (tenantId) => ({
      sites: (countStmt.sites.get(tenantId) as { n: number }).n,
      nodes: (countStmt.nodes.get(tenantId) as { n: number }).n,
    }),
    handlers: {
      sites: {
        async list(_input, ctx) {
          return {
            sites: db
              .select()
              .from(sites)
              .where(eq(sites.tenantId, ctx.tenantId))
              .orderBy(asc(sites.id))
              .all()
              .map(siteView),
          };
        },
        async get(input, ctx) {
          return siteView(requireSite(ctx.tenantId, input.id));
        },
        async add(input, ctx) {
          if (siteRow(ctx.tenantId, input.id))
            throw new OutpostError('already-exists', `site "${input.id}" already exists`);
          if (input.airGapped && input.servedBy === 'embedded')
            throw new OutpostError(
              'conflict',
              `an air-gapped site is served by its own LO at the site; site "${input.id}" cannot be both air-gapped and served by this server`,
            );
          store.tx(() =>
            db
              .insert(sites)
              .values({
                tenantId: ctx.tenantId,
                id: input.id,
                name: input.name ?? input.id,
                description: input.description ?? null,
                labels: input.labels ?? {},
                servedBy: input.servedBy ?? (input.airGapped ? 'remote' : 'embedded'),
                airGapped: input.airGapped,
                createdAt: clock.now(),
              })
              .run(),
          );
          events.changed(ctx.tenantId, 'sites');
          return siteView(requireSite(ctx.tenantId, input.id));
        },
        async set(input, ctx) {
          const s = requireSite(ctx.tenantId, input.id);
          if (input.airGapped && s.servedBy === 'embedded')
            throw new OutpostError(
              'conflict',
              `site "${s.id}" is served by this server's own LO, which needs no bundles; an air-gapped site is served by its own LO at the site`,
            );
          db.update(sites)
            .set({ airGapped: input.airGapped })
            .where(and(eq(sites.tenantId, ctx.tenantId), eq(sites.id, s.id)))
            .run();
          events.changed(ctx.tenantId, 'sites', 'bundles');
          return siteView(requireSite(ctx.tenantId, input.id));
        },
        async remove(input, ctx) {
          const s = requireSite(ctx.tenantId, input.id);
          const n = (countNodesBySite.get(ctx.tenantId, s.id) as { n: number }).n;
          if (n > 0)
            throw new OutpostError(
              'conflict',
              `site "${s.id}" still has ${n} node${n === 1 ? '' : 's'}; remove them first`,
            );
          store.tx(() => {
            db.delete(orchestrators)
              .where(and(eq(orchestrators.tenantId, ctx.tenantId), eq(orchestrators.siteId, s.id)))
              .run();
            db.delete(sites)
              .where(and(eq(sites.tenantId, ctx.tenantId), eq(sites.id, s.id)))
              .run();
          });
          events.changed(ctx.tenantId, 'sites');
          return { id: s.id };
        },
        async addOrchestrator(input, ctx) {
          requireSite(ctx.tenantId, input.siteId);
          const dup = db
            .select()
            .from(orchestrators)
            .where(
              and(
                eq(orchestrators.tenantId, ctx.tenantId),
                sql`(${orchestrators.id} = ${input.id} OR ${orchestrators.siteId} = ${input.siteId})`,
              ),
            )
            .get();
          if (dup) {
            throw new OutpostError(
              'already-exists',
              dup.id === input.id
                ? `orchestrator "${input.id}" already exists`
                : `site "${input.siteId}" is already served by orchestrator "${dup.id}"`,
            );
          }
          const row = {
            tenantId: ctx.tenantId,
            id: input.id,
            siteId: input.siteId,
            name: input.name ?? input.id,
            mmiUrl: input.mmiUrl ?? null,
            caFingerprint: input.caFingerprint ?? null,
            lastSeenAt: null,
            createdAt: clock.now(),
          };
          store.tx(() => {
            db.insert(orchestrators).values(row).run();
            db.update(sites)
              .set({ servedBy: 'remote' })
              .where(and(eq(sites.tenantId, ctx.tenantId), eq(sites.id, input.siteId)))
              .run();
          });
          events.changed(ctx.tenantId, 'sites');
          return orchestratorView(row);
        },
        async listOrchestrators(_input, ctx) {
          return {
            orchestrators: db
              .select()
              .from(orchestrators)
              .where(eq(orchestrators.tenantId, ctx.tenantId))
              .orderBy(asc(orchestrators.id))
              .all()
              .map(orchestratorView),
          };
        },
      },
      nodes: {
        async list(input, ctx) {
          const now = clock.now();
          if (input.siteId) requireSite(ctx.tenantId, input.siteId);
          const t = thresholds();
          const { nodes: page, total } = listNodes(
            { sqlite: store.sqlite, thresholds: t, liveSeen: deps.liveSeen },
            ctx.tenantId,
            input,
            now,
          );
          return {
            nodes: page,
            total,
            now,
            staleAfterSeconds: t.staleAfterMs / 1000,
            offlineAfterSeconds: t.offlineAfterMs / 1000,
          };
        },
        async get(input, ctx) {
          return view(requireNode(ctx.tenantId, input.name));
        },
        async add(input, ctx) {
          requireSite(ctx.tenantId, input.siteId);
          if (nodeRow(ctx.tenantId, input.name))
            throw new OutpostError('already-exists', `node "${input.name}" already exists`);
          if (input.modelId) requireModel(store, ctx.tenantId, input.modelId);
          store.tx(() =>
            db
              .insert(nodes)
              .values({
                uid: nodeUid(ctx.tenantId, input.name),
                tenantId: ctx.tenantId,
                name: input.name,
                siteId: input.siteId,
                modelId: input.modelId ?? null,
                labels: input.labels ?? {},
                state: 'registered',
                createdAt: clock.now(),
              })
              .run(),
          );
          events.changed(
            ctx.tenantId,
            'nodes',
            'sites',
            ...(input.modelId ? (['device-models'] as const) : []),
          );
          return view(requireNode(ctx.tenantId, input.name));
        },
        async label(input, ctx) {
          const r = requireNode(ctx.tenantId, input.name);
          const labels = { ...r.labels, ...input.set };
          for (const k of input.remove) delete labels[k];
          store.tx(() => db.update(nodes).set({ labels }).where(eq(nodes.uid, r.uid)).run());
          events.changed(ctx.tenantId, 'nodes');
          return view(requireNode(ctx.tenantId, input.name));
        },
        async cordon(input, ctx) {
          const r = requireNode(ctx.tenantId, input.name);
          store.tx(() => db.update(nodes).set({ cordoned: true }).where(eq(nodes.uid, r.uid)).run());
          events.changed(ctx.tenantId, 'nodes');
          return view(requireNode(ctx.tenantId, input.name));
        },
        async uncordon(input, ctx) {
          const r = requireNode(ctx.tenantId, input.name);
          store.tx(() => db.update(nodes).set({ cordoned: false }).where(eq(nodes.uid, r.uid)).run());
          events.changed(ctx.tenantId, 'nodes');
          return view(requireNode(ctx.tenantId, input.name));
        },
        async setModel(input, ctx) {
          const r = requireNode(ctx.tenantId, input.name);
          if (input.modelId) requireModel(store, ctx.tenantId, input.modelId);
          store.tx(() => db.update(nodes).set({ modelId: input.modelId }).where(eq(nodes.uid, r.uid)).run());
          events.changed(ctx.tenantId, 'nodes', 'device-models');
          return view(requireNode(ctx.tenantId, input.name));
        },
        async detail(input, ctx) {
          const now = clock.now();
          return nodeDetail(
            {
              sqlite: store.sqlite,
              thresholds: thresholds(),
              view,
              auditAbout: deps.auditAbout ?? (() => []),
            },
            requireNode(ctx.tenantId, input.name),
            now,
          );
        },
        async bulk(input, ctx) {
          const names = [...new Set(input.names)];
          const rows = names.map((n) => nodeRow(ctx.tenantId, n));
          const missing = names.filter((_, i) => !rows[i]);
          if (missing.length > 0)
            throw new OutpostError(
              'not-found',
              `${missing.length === 1 ? 'node' : 'nodes'} ${missing
                .slice(0, 5)
                .map((n) => `"${n}"`)
                .join(
                  ', ',
                )}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''} not found; nothing was changed`,
              { data: { what: 'node', ids: missing } },
            );
          const a = input.action;
          if (a.kind === 'setModel' && a.modelId) requireModel(store, ctx.tenantId, a.modelId);
          // All or nothing, one transaction (and one audit entry from the dispatcher).
          store.tx(() => {
            for (const r of rows as NodeRow[]) {
              if (a.kind === 'label') {
                const labels = { ...r.labels, ...a.set };
                for (const k of a.remove) delete labels[k];
                db.update(nodes).set({ labels }).where(eq(nodes.uid, r.uid)).run();
              } else if (a.kind === 'cordon' || a.kind === 'uncordon') {
                db.update(nodes)
                  .set({ cordoned: a.kind === 'cordon' })
                  .where(eq(nodes.uid, r.uid))
                  .run();
              } else {
                db.update(nodes).set({ modelId: a.modelId }).where(eq(nodes.uid, r.uid)).run();
              }
            }
          });
          events.changed(
            ctx.tenantId,
            'nodes',
            ...(a.kind === 'setModel' ? (['device-models'] as const) : []),
          );
          return { updated: names.length, names };
        },
        async remove(input, ctx) {
          const r = requireNode(ctx.tenantId, input.name);
          // A host goes with its child devices (its MCUs, `<host>/<mcu>`, ADR 0443).
          const children = store.sqlite
            .prepare('SELECT uid, name FROM nodes WHERE uid > ? AND uid < ?')
            .all(`${r.uid}/`, `${r.uid}0`) as { uid: string; name: string }[];
          for (const n of [r, ...children]) {
            const d = deps.deploymentsOnNode?.(n.uid) ?? 0;
            if (d > 0)
              throw new OutpostError(
                'conflict',
                `node "${n.name}" still has ${d} deployment${d === 1 ? '' : 's'}; remove them first`,
              );
          }
          store.tx(() => {
            for (const c of children) db.delete(nodes).where(eq(nodes.uid, c.uid)).run();
            db.delete(nodes).where(eq(nodes.uid, r.uid)).run();
          });
          events.changed(ctx.tenantId, 'nodes', 'sites', ...(r.modelId ? (['device-models'] as const) : []));
          return { uid: r.uid };
        },
      },
    },
  };
}

export function requireModel(store: Store, tenantId: string, id: string): void {
  const r = store.sqlite
    .prepare('SELECT 1 FROM device_models WHERE tenant_id = ? AND id = ?')
    .get(tenantId, id);
  if (!r) throw errors.notFound('device model', id);
}
