import crypto from 'node:crypto';
import path from 'node:path';
import { and, eq, isNull } from 'drizzle-orm';
import type { CoreModule } from '../module.js';
import type { Config } from '../config.js';
import type { Paths, Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { Store } from '../store/db.js';
import type { EventHub } from '../events.js';
import type { AuditLog } from '../audit.js';
import { clientPolicy, enrollTokens, nodes, svids } from '../store/schema/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import { clientSpiffeId, createEnrollmentToken } from '../../lib/identity/index.js';
import { createKeyAndCsr } from '../../lib/x509/index.js';
import { issueSvid } from '../ca/index.js';
import type { CaInfo, EnrollToken } from '../../lib/contract/index.js';
import QRCode from 'qrcode';
import type { Fleet } from '../fleet/module.js';
import type { Messaging } from '../messaging/module.js';
import { createMmiServer, type MmiServer } from '../mmi/server.js';
import type { MmiClient } from '../mmi/backend.js';
import type { SiteIdentity } from './identity-store.js';
import { createManifestStore, type ManifestStore } from './manifests.js';
import { createFollower, splitClientId, type DesiredSource, type Follower } from './follower.js';
import { createLoBackend, SEEN_FLUSH_MS, type StatusSink } from './mmi-backend.js';
import { createUplink, type NodeInventory } from './uplink.js';
import type { ObjectCache } from '../gitops/object-reader.js';
import { createNodeEnrollment } from './node-enrollment.js';
import { checkNonNodeClientId, listClientIdentities } from './client-identities.js';
import { createEnrollRequests } from './enroll-requests.js';
import { createNodeCertificates } from './node-certificates.js';
import { createLoDiscovery } from './discovery.js';

export interface LoModuleDeps {
  config: Config;
  paths: Paths;
  store: Store;
  clock: Clock;
  logger: Logger;
  events: EventHub;
  /** The core's audit log (SVID renewals arrive over the MMI, not the console contract). */
  audit: AuditLog;
  fleet: Fleet;
  statusSink: StatusSink;
  messaging?: Messaging;
  /** Where the CO keeps each tenant's deployments repository (role all: followed in place). */
  coRepoDir: (tenantId: string) => string;
  coRepoTenants: () => string[];
  coBranch: string;
  /** Objects the CO writes, shared with the follower (role all). */
  objectCache?: ObjectCache;
  /** The site CA and the WFM's identity (created by the composition root, shared with messaging). */
  identity: SiteIdentity;
  /** The branch bundles from HQ fill in the mirror (role lo without a git remote). */
  bundleBranch?: () => string;
  /** Advertised over mDNS (ADR 0460). */
  version: string;
  /** The site registry's URL agents are told at enrollment (ADR 0422). */
  registryUrl?: () => string | null;
}

/** How long YAMLs and bundles that left a manifest stay servable. */
export const RETENTION_MS = 24 * 3600_000;

export interface Lo {
  readonly identity: SiteIdentity;
  readonly manifests: ManifestStore;
  readonly follower: Follower;
  mmiUrl(): string | null;
  /** A node's newest MMI request not yet in the database (presence between flushes). */
  seenAt(clientId: string): number | null;
  /** The MMI's accepted-client policy for a verified client certificate (the site registry asks it too). */
  authorizeClient(client: MmiClient): { ok: true } | { ok: false; reason: string };
  /** Adopts the newest desired state of a tenant and tells changed nodes to poll now. */
  syncTenant(tenantId: string): Promise<void>;
}

/**
 * The Local Orchestrator: the site's identity (CA, WFM SVID, accepted-client policy, enrollment), the
 * desired-state follower and per-node manifests, and the Margo Management Interface over mutual TLS.
 */
export function createLoModule(deps: LoModuleDeps): CoreModule & { lo: Lo } {
  const { config, paths, store, clock, events, fleet } = deps;
  const db = store.db;
  const log = deps.logger.child({ component: 'lo' });
  const identity = deps.identity;
  const manifests = createManifestStore({ store, clock });
  let server: MmiServer | undefined;
  const timers: NodeJS.Timeout[] = [];

  const sources = (): DesiredSource[] => {
    if (config.role === 'lo') {
      const remote = config.git.remote;
      // No remote: the mirror is filled by bundles from HQ (an air-gapped site) and read in place.
      if (!remote)
        return [
          {
            kind: 'local',
            tenantId: config.tenancy.defaultTenant,
            dir: path.join(paths.mirrorsDir, config.tenancy.defaultTenant),
            branch: deps.bundleBranch?.() ?? 'main',
          },
        ];
      const token = remote.tokenEnv ? process.env[remote.tokenEnv] : remote.token;
      return [
        {
          kind: 'remote',
          tenantId: config.tenancy.defaultTenant,
          url: remote.url,
          branch: remote.branch,
          mirrorDir: path.join(paths.mirrorsDir, config.tenancy.defaultTenant),
          auth: token ? { username: remote.username ?? 'git', password: token } : undefined,
          timeoutMs: config.catalog.gitTimeoutMs,
        },
      ];
    }
    return deps.coRepoTenants().map((tenantId) => ({
      kind: 'local' as const,
      tenantId,
      dir: deps.coRepoDir(tenantId),
      branch: deps.coBranch,
    }));
  };

  const follower = createFollower({
    ...(deps.objectCache ? { objectCache: deps.objectCache } : {}),
    store,
    clock,
    logger: log,
    manifests,
    sources,
    ...(config.role === 'lo'
      ? { servesSite: (_t: string, siteId: string) => siteId === config.site.id }
      : {}),
    onRefused: (tenantId) => events.changed(tenantId, 'system', 'deployments'),
  });

  const mmiUrl = () => server?.url ?? null;

  /** One-time enrollment tokens for named nodes of a site this server serves (each node created if needed). */
  const mintTokens = (
    tenantId: string,
    createdBy: string,
    names: string[],
    siteId: string,
    ttlMinutes: number,
  ): Omit<EnrollToken, 'qrSvg'>[] => {
    // A token is only worth making where this server will accept the node (ADR 0011).
    if (config.role === 'co')
      throw new OutpostError(
        'conflict',
        "this server runs with --role co and serves no Margo Management Interface: create the token on the LO of the node's site, or run the CO with --role all to serve directly connected nodes",
      );
    if (fleet.remoteSites(tenantId).includes(siteId))
      throw new OutpostError(
        'conflict',
        `site "${siteId}" is served by a remote LO, which has its own CA: create the token there (edgectl co enroll-token create on the LO's host)`,
      );
    const ca = identity.requireCa();
    const now = clock.now();
    const expiresAt = now + ttlMinutes * 60_000;
    const url = mmiUrl();
    return names.map((name) => {
      const node = fleet.ensureNode(tenantId, name, siteId);
      if (node.state === 'revoked')
        throw new OutpostError(
          'conflict',
          `node "${node.name}" was revoked; remove it and add it again to re-enroll`,
        );
      const t = createEnrollmentToken({
        siteId: node.siteId,
        nodeName: node.name,
        tenantId,
        caFingerprint: ca.fingerprint,
        ...(url ? { lmmiUrl: url } : {}),
        expiresAt,
      });
      db.insert(enrollTokens)
        .values({
          id: crypto.randomUUID(),
          tenantId,
          siteId: node.siteId,
          nodeName: node.name,
          secretHash: t.secretHash,
          expiresAt: t.expiresAt,
          usedAt: null,
          createdAt: now,
          createdBy,
        })
        .run();
      return {
        token: t.token,
        nodeUid: node.uid,
        nodeName: node.name,
        siteId: node.siteId,
        expiresAt: t.expiresAt,
        caFingerprint: ca.fingerprint,
        mmiUrl: url,
        command: enrollCommand(url, t.token),
      };
    });
  };
  // A remote LO (role lo) tells the CO what it learns (status reports, node inventory) over the bus,
  // from its own outbox (store and forward).
  const uplink =
    config.role === 'lo' && deps.messaging
      ? createUplink({ store, clock, logger: log, messaging: deps.messaging, siteId: config.site.id })
      : undefined;
  // The LO's outgoing backlog counts what still waits in its outbox (ADR 0165).
  if (uplink) deps.messaging?.setOutboxBacklog(() => uplink.backlog());
  const inventoryOf = (uid: string): NodeInventory | undefined => {
    const n = db.select().from(nodes).where(eq(nodes.uid, uid)).get();
    if (!n) return undefined;
    return {
      kind: 'outpost.node',
      nodeName: n.name,
      siteId: n.siteId,
      state: n.state,
      capabilities: (n.capabilities ?? null) as NodeInventory['capabilities'],
      capabilitiesAt: n.capabilitiesAt,
      at: clock.now(),
    };
  };
  const noteInventory = (uid: string) => {
    if (!uplink) return;
    const inv = inventoryOf(uid);
    if (inv) uplink.enqueue(uid, 'events', inv);
  };
  const statusSink: StatusSink = uplink
    ? {
        record(r) {
          const result = store.tx(() => {
            const res = deps.statusSink.record(r);
            uplink.enqueue(r.clientId, 'status', {
              kind: 'outpost.forwarded-status',
              status: r.status,
              digest: r.digest ?? null,
              receivedAt: r.receivedAt,
              eventAt: r.eventAt,
            });
            return res;
          });
          void uplink.flush();
          return result;
        },
      }
    : deps.statusSink;
  const natsCredentials = deps.messaging
    ? async (clientId: string, siteId: string) => {
        const m = deps.messaging!;
        const url = m.natsUrl();
        if (!url || m.natsState().state !== 'running') return undefined;
        const c = await m.issueNodeCredentials(clientId, siteId);
        return c.seed
          ? {
              url,
              user: c.user,
              seed: c.seed,
              inboxPrefix: c.inboxPrefix,
              subjects: c.subjects,
              tls: config.nats.tls,
            }
          : undefined;
      }
    : undefined;
  const backend = createLoBackend({
    store,
    clock,
    logger: log,
    manifests,
    identity,
    statusSink,
    svidTtlSeconds: Math.round(config.mmi.svidTtlHours * 3600),
    // SVID renewals arrive over the MMI, not the console contract: the backend audits them itself.
    audit: deps.audit,
    mmiUrl,
    ...(deps.registryUrl ? { registryUrl: deps.registryUrl } : {}),
    onNodeChanged: (tenantId) => events.changed(tenantId, 'nodes'),
    onInventoryChanged: (uid) => {
      noteInventory(uid);
      void uplink?.flush();
    },
    ...(natsCredentials ? { natsCredentials } : {}),
  });

  const svidTtlSeconds = Math.round(config.mmi.svidTtlHours * 3600);
  const enrollment = createNodeEnrollment({ config, store, fleet });
  const onInventoryChanged = (uid: string) => {
    noteInventory(uid);
    void uplink?.flush();
  };
  const requests = createEnrollRequests({
    store,
    clock,
    logger: log,
    audit: deps.audit,
    events,
    identity,
    enrollment,
    tenantId: config.tenancy.defaultTenant,
    ttlMs: config.discovery.requestTtlMinutes * 60_000,
    perAddressPerHour: config.discovery.requestsPerHour,
    svidTtlSeconds,
    mmiUrl,
    ...(deps.registryUrl ? { registryUrl: deps.registryUrl } : {}),
    onInventoryChanged,
    ...(natsCredentials ? { natsCredentials } : {}),
  });
  backend.fileEnrollRequest = (r) => requests.file(r);
  backend.pollEnrollRequest = (id, secret) => requests.poll(id, secret);
  /** The MMI's TLS material: the WFM's SVID, and as client anchors the site CA plus the CAs the operator trusts. */
  const mmiTls = async () => {
    const t = await identity.wfmTls(clock.now());
    return { ...t, anchorsPem: [...t.anchorsPem, ...certificates.anchorsPem()] };
  };
  const certificates = createNodeCertificates({
    store,
    clock,
    logger: log,
    events,
    identity,
    enrollment,
    svidTtlSeconds,
    mmiUrl,
    onInventoryChanged,
  });
  const discovery = createLoDiscovery({
    config,
    logger: log,
    events,
    identity,
    version: deps.version,
    tenantId: config.tenancy.defaultTenant,
    servedSites: () => [
      config.site.id,
      ...(
        store.sqlite.prepare(`SELECT id FROM sites WHERE served_by = 'embedded'`).all() as { id: string }[]
      ).map((r) => r.id),
    ],
    pendingByKey: () => requests.pendingByKey(),
    isEnrolledNode: (uid) => fleet.nodeByUid(uid)?.state === 'enrolled',
  });

  const lo: Lo = {
    identity,
    manifests,
    follower,
    mmiUrl,
    seenAt: (clientId) => backend.seenAt(clientId),
    authorizeClient: (client) => backend.authorize(client),
    async syncTenant(tenantId) {
      const r = await follower.sync(tenantId);
      const bus = deps.messaging;
      if (!bus || r.changedClients.length === 0 || bus.natsState().state !== 'running') return;
      // Tell every node whose manifest changed to poll now (one query for their sites).
      const nodesByUid = fleet.nodesByUids(r.changedClients);
      for (const clientId of r.changedClients) {
        bus.notifyPollNow(nodesByUid.get(clientId)?.siteId ?? config.site.id, clientId, {
          reason: 'desired state changed',
        });
      }
    },
  };

  // A desired-state notice from the CO (role lo): look at git now rather than on the next interval.
  if (config.role === 'lo') {
    deps.messaging?.onDesiredNotice(() => {
      for (const src of sources()) void lo.syncTenant(src.tenantId).catch(() => undefined);
    });
  }

  const caInfo = (): CaInfo => {
    const ca = identity.ca();
    return {
      initialized: ca !== undefined,
      trustDomain: identity.trustDomain,
      fingerprint: ca?.fingerprint ?? null,
      notAfter: ca?.notAfter ?? null,
      wfmSpiffeId: identity.wfmSpiffeId,
      mmiUrl: mmiUrl(),
    };
  };

  const startServer = async () => {
    if (!config.mmi.enabled || config.role === 'co') return;
    if (!identity.ca()) await identity.initCa({ force: false, now: clock.now() });
    const tls = await mmiTls();
    server = await createMmiServer({
      backend,
      tls,
      trustDomain: identity.trustDomain,
      wfmId: identity.wfmId,
      host: config.mmi.host,
      port: config.mmi.port,
      logger: log,
      clock,
    });
    log.info({ url: server.url }, 'Margo Management Interface listening (mutual TLS)');
    await discovery.start({ url: server.url, port: server.port });
  };

  return {
    name: 'lo',
    lo,
    async start() {
      if (config.role === 'co') return;
      if (config.role === 'lo') {
        // The site this LO serves exists in its own records (enrollment creates nodes in it).
        store.sqlite
          .prepare(
            `INSERT OR IGNORE INTO sites (tenant_id, id, name, description, labels, served_by, created_at) VALUES (?, ?, ?, NULL, '{}', 'embedded', ?)`,
          )
          .run(config.tenancy.defaultTenant, config.site.id, config.site.name, clock.now());
      }
      await startServer();
      for (const s of sources()) {
        try {
          await lo.syncTenant(s.tenantId);
        } catch (err) {
          log.warn(
            { err: (err as Error).message, tenant: s.tenantId },
            'initial desired-state sync failed; serving the adopted state',
          );
        }
      }
      timers.push(setInterval(() => backend.flushSeen(), SEEN_FLUSH_MS));
      if (uplink) timers.push(setInterval(() => void uplink.flush(), 2000));
      if (config.role === 'lo') {
        timers.push(
          setInterval(() => {
            for (const s of sources()) void lo.syncTenant(s.tenantId).catch(() => undefined);
          }, config.git.fetchIntervalSeconds * 1000),
        );
      }
      timers.push(setInterval(() => manifests.prune(RETENTION_MS), 3600_000));
      timers.push(setInterval(() => requests.sweep(), 30_000));
      for (const t of timers) t.unref();
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      await discovery.stop();
      backend.flushSeen();
      await server?.close();
      server = undefined;
    },
    handlers: {
      enrollRequests: {
        async list(input, ctx) {
          return { requests: requests.list(ctx.tenantId, input.all), now: clock.now() };
        },
        async get(input, ctx) {
          return requests.get(ctx.tenantId, input.id);
        },
        async approve(input, ctx) {
          return requests.approve(ctx.tenantId, ctx.principal.id, input);
        },
        async reject(input, ctx) {
          return requests.reject(ctx.tenantId, ctx.principal.id, input);
        },
      },
      discovery: {
        async status() {
          return discovery.status(clock.now());
        },
      },
      identity: {
        async signNodeCsr(input, ctx) {
          return certificates.signCsr(ctx.tenantId, input);
        },
        async registerNodeCertificate(input, ctx) {
          return certificates.register(ctx.tenantId, input);
        },
        async trustCa(input, ctx) {
          const r = certificates.trust(input.certPem, ctx.principal.id);
          if (server) server.setTls(await mmiTls());
          return r;
        },
        async trustedCas() {
          return { cas: certificates.list() };
        },
        async untrustCa(input) {
          certificates.untrust(input.fingerprint);
          if (server) server.setTls(await mmiTls());
          return { fingerprint: input.fingerprint };
        },
        async ca() {
          return caInfo();
        },
        async initCa(input) {
          await identity.initCa({ force: input.force, now: clock.now() });
          if (server) server.setTls(await mmiTls());
          // Settings shows the CA, the Dashboard its end: every tenant's consoles ask again.
          events.changed(null, 'system', 'metrics');
          return caInfo();
        },
        async exportCa() {
          const ca = identity.requireCa();
          return { anchorsPem: [ca.certPem], fingerprint: ca.fingerprint, trustDomain: ca.trustDomain };
        },
        async issueClient(input) {
          checkNonNodeClientId(store, input.clientId);
          const ca = identity.requireCa();
          const now = clock.now();
          const kc = await createKeyAndCsr({});
          const spiffeId = clientSpiffeId(identity.trustDomain, identity.wfmId, input.clientId);
          const svid = await issueSvid({
            ca,
            csrPem: kc.csrPem,
            spiffeId,
            now,
            ttlSeconds: Math.round((input.ttlHours ?? config.mmi.svidTtlHours) * 3600),
          });
          store.tx(() => {
            db.insert(svids)
              .values({
                serialHex: svid.serialHex,
                clientId: input.clientId,
                spiffeId,
                issuedAt: now,
                notAfter: svid.notAfter,
                revokedAt: null,
              })
              .run();
            if (input.allow) {
              db.insert(clientPolicy)
                .values({ pattern: spiffeId, effect: 'allow', createdAt: now })
                .onConflictDoUpdate({ target: clientPolicy.pattern, set: { effect: 'allow' } })
                .run();
            }
          });
          return {
            spiffeId,
            certPem: svid.certPem,
            keyPem: kc.keyPem,
            anchorsPem: [ca.certPem],
            notAfter: svid.notAfter,
            serialHex: svid.serialHex,
          };
        },
        async clients(_input, ctx) {
          return listClientIdentities(
            { store, trustDomain: identity.trustDomain, wfmId: identity.wfmId },
            ctx,
          );
        },
        async allow(input) {
          const row = { pattern: input.pattern, effect: 'allow' as const, createdAt: clock.now() };
          store.tx(() =>
            db
              .insert(clientPolicy)
              .values(row)
              .onConflictDoUpdate({
                target: clientPolicy.pattern,
                set: { effect: 'allow', createdAt: row.createdAt },
              })
              .run(),
          );
          return row;
        },
        async deny(input) {
          const row = { pattern: input.pattern, effect: 'deny' as const, createdAt: clock.now() };
          store.tx(() =>
            db
              .insert(clientPolicy)
              .values(row)
              .onConflictDoUpdate({
                target: clientPolicy.pattern,
                set: { effect: 'deny', createdAt: row.createdAt },
              })
              .run(),
          );
          return row;
        },
        async createEnrollToken(input, ctx) {
          // The node (made when new) and its token: one transaction.
          const [made] = store.tx(() =>
            mintTokens(ctx.tenantId, ctx.principal.id, [input.node], input.siteId, input.ttlMinutes),
          );
          return withQr(made!);
        },
        async createEnrollTokens(input, ctx) {
          const dup = input.nodes.find((n, i) => input.nodes.indexOf(n) !== i);
          if (dup) throw new OutpostError('invalid-input', `node "${dup}" is named twice`);
          // All or none: a refused node (revoked, at another site) leaves no token and no new node behind.
          const made = store.tx(() =>
            mintTokens(ctx.tenantId, ctx.principal.id, input.nodes, input.siteId, input.ttlMinutes),
          );
          return { tokens: await Promise.all(made.map(withQr)) };
        },
        async revokeNode(input, ctx) {
          const node = fleet.nodeByName(ctx.tenantId, input.name);
          if (!node) throw errors.notFound('node', input.name);
          const now = clock.now();
          const revoked = store.tx(() => {
            const live = db
              .select({ serialHex: svids.serialHex })
              .from(svids)
              .where(and(eq(svids.clientId, node.uid), isNull(svids.revokedAt)))
              .all()
              .map((r) => r.serialHex);
            db.update(svids)
              .set({ revokedAt: now })
              .where(and(eq(svids.clientId, node.uid), isNull(svids.revokedAt)))
              .run();
            db.update(nodes).set({ state: 'revoked', revokedAt: now }).where(eq(nodes.uid, node.uid)).run();
            // Its child devices (MCUs, ADR 0443) are reached only through it: revoked with it.
            store.sqlite
              .prepare("UPDATE nodes SET state = 'revoked', revoked_at = ? WHERE uid > ? AND uid < ?")
              .run(now, `${node.uid}/`, `${node.uid}0`);
            noteInventory(node.uid);
            // Unused enrollment tokens of this node die with it.
            store.sqlite
              .prepare(
                'UPDATE enroll_tokens SET used_at = ? WHERE tenant_id = ? AND node_name = ? AND used_at IS NULL',
              )
              .run(now, ctx.tenantId, node.name);
            return live;
          });
          void uplink?.flush();
          await deps.messaging?.removeNodeUser(node.uid).catch(() => false);
          events.changed(ctx.tenantId, 'nodes');
          log.warn({ node: node.uid, serials: revoked }, 'node revoked');
          return { nodeUid: node.uid, revokedSerials: revoked };
        },
      },
    },
  };
}

export { splitClientId };

/** The exact command a node runs to enroll with a token (the token carries the LO's URL too). */
export function enrollCommand(mmiUrl: string | null, token: string): string {
  return `edgectl agent enroll ${mmiUrl ? `--lo ${mmiUrl} ` : ''}--token ${token}`;
}

/** The token as a QR code (SVG text, black on white, with a quiet zone). */
async function withQr(t: Omit<EnrollToken, 'qrSvg'>): Promise<EnrollToken> {
  const qrSvg = await QRCode.toString(t.token, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { ...t, qrSvg };
}
