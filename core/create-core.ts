import crypto from 'node:crypto';
import os from 'node:os';
import type { Config } from './config.js';
import type { Paths, Clock } from '../lib/base/index.js';
import type { Logger } from '../lib/log/index.js';
import type { Store } from './store/db.js';
import { createAuditLog, type AuditLog } from './audit.js';
import { createAuthenticator, LOCAL_ADMIN_ID, type Authenticator } from './auth.js';
import { createAccessModule } from './access/module.js';
import { createTicketBook, type TicketBook } from './access/tickets.js';
import { createEventHub, type EventHub } from './events.js';
import { createDispatcher, type Dispatcher } from './rpc/dispatcher.js';
import {
  contract,
  type Contract,
  type NatsState,
  createClient,
  isAdmin,
  type CallContext,
  type ClientOf,
  type HandlersOf,
  type Principal,
  type Transport,
  type AuditSource,
} from '../lib/contract/index.js';
import { createCallJournal } from './rpc/call-journal.js';
import type { CoreModule, Counts } from './module.js';
import { createSystemModule } from './system/module.js';
import { createFleetModule } from './fleet/module.js';
import { createCatalogModule } from './catalog/module.js';
import { createDesiredRepos } from './deploy/desired-repo.js';
import { createDeployEngine, type DeployEngine } from './deploy/engine.js';
import { createDeployModule } from './deploy/module.js';
import { createLoModule, type Lo } from './lo/module.js';
import { createWorkloadLogsModule } from './lo/workload-logs.js';
import { isForwardedStatus, isNodeInventory } from './lo/uplink.js';
import { createLocalDeployments } from './lo/local-deployments.js';
import { createObjectCache } from './gitops/object-reader.js';
import { createSiteIdentity } from './lo/identity-store.js';
import { createMessagingModule, type Messaging } from './messaging/module.js';
import { OutpostError } from '../lib/errors/index.js';
import { busOrigin, createReportCursors } from './store/report-cursors.js';
import { createRegistryModule, type SiteRegistry } from './registry/module.js';
import {
  bundleMirrorBranch,
  createBundleModule,
  type BundleRegistryAccess,
  type Failpoint,
  type SecretSealer,
} from './bundle/module.js';
import { createHealthModule, type Health } from './health/module.js';

export interface CoreDeps {
  config: Config;
  paths: Paths;
  store: Store;
  clock: Clock;
  logger: Logger;
  version: string;
  /** Per-run admin token (written to server.json by the headless server). */
  bootstrapToken?: string;
  /**
   * Validate every result against the contract before returning it (default: only under tests). A
   * mismatch is a bug; checking costs time on large results (a deployment to 10,000 nodes).
   */
  checkOutputs?: boolean;
  /** The desktop's keychain for the bundle signing key (Electron safeStorage); absent: a 0600 file. */
  sealer?: SecretSealer;
  /** Test hook: named points of a bundle import (crash tests). */
  failpoint?: (name: Failpoint) => void;
}

export interface Core {
  readonly config: Config;
  readonly paths: Paths;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventHub;
  readonly audit: AuditLog;
  readonly auth: Authenticator;
  /** One-time tickets for the event stream (a token never goes into a URL). */
  readonly tickets: TicketBook;
  readonly dispatcher: Dispatcher;
  readonly startedAt: number;
  /** The bus (embedded nats-server, node credentials, poll-now, presence, site links). */
  readonly messaging: Messaging;
  /** The Local Orchestrator (site identity, manifests, the Margo Management Interface). */
  readonly lo: Lo;
  /** The deployments engine (CO). */
  readonly deploy: DeployEngine;
  /** The site registry (LO; the bundle import writes into its store). */
  readonly registry: SiteRegistry;
  /** Fleet health: the stored time series (sampled on a timer; tests sample by hand). */
  readonly health: Health;
  /** Builds the context of one call (used by every binder). */
  context(
    principal: Principal,
    transport: Transport,
    options?: {
      tenant?: string | undefined;
      signal?: AbortSignal;
      requestId?: string;
      idempotencyKey?: string | undefined;
      /** Where the call came from (default: console over IPC, api otherwise). */
      source?: AuditSource | undefined;
    },
  ): CallContext;
  /** An in-process client acting as `principal` (default: the local administrator). */
  client(principal?: Principal): ClientOf<Contract>;
  start(): Promise<void>;
  /** Begins the modules' background work that waits for nothing but a listening server (ADR 0561). */
  ready(): void;
  stop(): Promise<void>;
}

export const LOCAL_ADMIN = (tenantId: string): Principal => ({
  id: LOCAL_ADMIN_ID,
  name: 'local operator',
  tenantId,
  roles: ['admin'],
});

/**
 * The composition root: the same function runs in Electron, in the headless server and in tests.
 * No singletons, no work at import time; everything it needs is passed in.
 */
export function createCore(deps: CoreDeps): Core {
  const { config, paths, store, clock, logger } = deps;
  const startedAt = clock.now();
  const events = createEventHub(clock);
  // Open audit pages update live: every new entry announces the `audit` topic of its tenant.
  const audit = createAuditLog(store, clock, (tenantId) => events.changed(tenantId, 'audit'));
  ensureTenant(store, config.tenancy.defaultTenant, clock.now());
  const auth = createAuthenticator({
    store,
    clock,
    bootstrapToken: deps.bootstrapToken,
    defaultTenant: config.tenancy.defaultTenant,
  });
  const tickets = createTicketBook({
    clock,
    stillValid: (p) => (p.tokenId ? auth.byTokenId(p.tokenId) !== null : true),
  });

  const modules: CoreModule[] = [createAccessModule({ store, clock, auth })];
  const natsState = (): NatsState | null => {
    for (const m of modules) if (m.natsState) return m.natsState();
    return null;
  };

  const counts = (tenantId: string): Counts => {
    const total: Counts = { tenants: 0, apps: 0, deviceModels: 0, sites: 0, nodes: 0, deployments: 0 };
    for (const m of modules) {
      const c = m.counts?.(tenantId);
      if (!c) continue;
      for (const k of Object.keys(c) as (keyof Counts)[]) total[k] += c[k] ?? 0;
    }
    return total;
  };

  modules.push(
    createSystemModule({
      config,
      paths,
      store,
      clock,
      audit,
      version: deps.version,
      startedAt,
      counts,
      natsState,
      desiredState: (tenantId) => {
        if (config.role === 'co') return null;
        return loModule.lo.follower.status(tenantId);
      },
    }),
  );
  // The site's identity first: the CA signs the WFM's and nats-server's certificates.
  const identity = createSiteIdentity({
    pkiDir: paths.pkiDir,
    trustDomain: config.mmi.trustDomain,
    wfmId: config.mmi.wfmId,
    siteName: config.site.name,
    logger: logger.child({ component: 'identity' }),
  });
  let natsTls: { certFile: string; keyFile: string; caFile: string } | undefined;
  modules.push({
    name: 'identity',
    async start() {
      const needsCa = config.nats.enabled || (config.mmi.enabled && config.role !== 'co');
      if (needsCa && !identity.ca()) await identity.initCa({ force: false, now: clock.now() });
      if (config.nats.enabled && config.nats.tls) {
        const host = config.nats.host;
        const hosts = [
          'localhost',
          '127.0.0.1',
          '::1',
          os.hostname(),
          ...(host === '0.0.0.0' || host === '::' ? [] : [host]),
          // The address LOs are told to reach the leaf port at must be in the certificate too.
          ...(config.nats.leafAdvertise
            ? [config.nats.leafAdvertise.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')]
            : []),
        ];
        natsTls = await identity.natsTls(clock.now(), hosts);
      }
    },
  });
  const messagingModule = createMessagingModule({ config, paths, logger, clock, events, tls: () => natsTls });
  modules.push(messagingModule);
  // The deploy engine and the LO call each other (desired state down, status up): the closures below
  // reach them only at run time, after both exist.
  // Remote-site traffic belongs to the tenant its bus link was issued for (ADR 0522): site ids are
  // per tenant, so another tenant's site of the same id never changes where it goes.
  const defaultTenant = config.tenancy.defaultTenant;
  const ownSite = (siteId: string) => config.role !== 'co' && siteId === config.site.id;
  const linkOwner = (siteId: string): string | null => {
    const link = messagingModule.messaging.siteLink(siteId);
    return link ? (link.tenantId ?? defaultTenant) : null;
  };
  const fleetModule = createFleetModule({
    // Node uids are `<tenant>.<name>`; a remote LO files its nodes under its own tenant, so remote
    // presence is found by name, and only for the tenant that owns the site's link (ADR 0522).
    // Presence is the newest word from the node: a bus heartbeat, or an MMI request not yet written to
    // the database (without it a node polling on time looked up to SEEN_FLUSH_MS older; ADR 0500).
    liveSeen: (siteId, uid) => {
      const m = messagingModule.messaging;
      const mmi = config.role === 'co' ? null : loModule.lo.seenAt(uid);
      let bus: number | null = null;
      if (ownSite(siteId)) bus = m.presence.get(siteId, uid).lastSeen;
      else {
        const dot = uid.indexOf('.');
        if (linkOwner(siteId) === uid.slice(0, dot))
          bus = m.presence.remoteByName(siteId, uid.slice(dot + 1))?.lastSeen ?? null;
      }
      return bus === null ? mmi : mmi === null ? bus : Math.max(bus, mmi);
    },
    config,
    store,
    clock,
    events,
    deploymentsOnNode: (uid) => engine.countOnNode(uid),
    auditAbout: (tenantId, target, limit) => audit.list(tenantId, { limit, target }),
  });
  const catalogModule = createCatalogModule({
    config,
    store,
    clock,
    events,
    deploymentsOfApp: (t, app, v) => engine.countOfApp(t, app, v),
  });
  modules.push(fleetModule, catalogModule);
  const objectCache = createObjectCache();
  const repos = createDesiredRepos({ store, clock, logger, config, root: paths.gitDir, objectCache });
  const engine: DeployEngine = createDeployEngine({
    store,
    clock,
    logger,
    config,
    events,
    catalog: catalogModule.catalog,
    fleet: fleetModule.fleet,
    repos,
    afterCommit: async (tenantId) => {
      if (config.role !== 'co') await loModule.lo.syncTenant(tenantId);
      // Remote sites hear about it at once over the bus (they fetch git on an interval otherwise).
      for (const siteId of fleetModule.fleet.remoteSites(tenantId)) {
        if (linkOwner(siteId) !== tenantId) continue;
        // An air-gapped site learns of it from the next bundle, never over a link.
        if (fleetModule.fleet.isAirGapped(tenantId, siteId)) continue;
        await messagingModule.messaging
          .publishDesiredNotice(siteId, { tenantId, at: clock.now() })
          .catch((err: unknown) =>
            logger.warn(
              { site: siteId, err: (err as Error).message },
              'desired-state notice not sent; the site finds the change on its next git poll',
            ),
          );
      }
    },
  });
  const loModule: CoreModule & { lo: Lo } = createLoModule({
    config,
    paths,
    store,
    clock,
    logger,
    events,
    audit,
    fleet: fleetModule.fleet,
    // A report over the MMI is never a replay (no origin): 'duplicate' cannot come back here.
    statusSink: { record: (r) => (engine.recordStatus(r) === 'created' ? 'created' : 'updated') },
    messaging: messagingModule.messaging,
    coRepoDir: (t) => repos.dirOf(t),
    coRepoTenants: () => repos.tenants(),
    coBranch: repos.branch,
    objectCache,
    identity,
    bundleBranch: () => bundleMirrorBranch(store),
    version: deps.version,
    registryUrl: () => registryModule.registry.advertisedUrl(),
  });
  const registryModule = createRegistryModule({
    config,
    paths,
    store,
    clock,
    logger,
    identity,
    token: (t) => {
      const p = auth.authenticate(t);
      return p ? { id: p.id, admin: isAdmin(p.roles) } : null;
    },
    authorizeClient: (client) => loModule.lo.authorizeClient(client),
  });
  const registryAccess: BundleRegistryAccess = {
    store: () => (registryModule.registry.enabled ? registryModule.registry.requireStore() : undefined),
    gc: () => registryModule.registry.gc({ dryRun: false }),
  };
  const bundleModule = createBundleModule({
    config,
    paths,
    store,
    clock,
    logger,
    events,
    audit,
    fleet: fleetModule.fleet,
    repos,
    recordStatus: (r) => engine.recordStatus(r),
    adoptDesiredState: (tenantId) => loModule.lo.syncTenant(tenantId),
    desiredState: (tenantId) => loModule.lo.follower.status(tenantId),
    registry: registryAccess,
    sealer: deps.sealer,
    failpoint: deps.failpoint,
  });
  // The registry opens its store (finishing its own journal) first; then an import a crash interrupted
  // is finished; then the LO serves.
  modules.push(
    registryModule,
    bundleModule,
    loModule,
    createDeployModule({
      engine,
      logger,
      // A remote LO answers from what it serves and what its nodes report (ADR 0170).
      ...(config.role === 'lo'
        ? { local: createLocalDeployments({ store, clock, fleet: fleetModule.fleet }) }
        : {}),
    }),
    createWorkloadLogsModule({ config, fleet: fleetModule.fleet, messaging: messagingModule.messaging }),
  );
  const healthModule = createHealthModule({
    config,
    store,
    clock,
    logger,
    events,
    thresholds: () => fleetModule.fleet.thresholds(),
    liveSeen: (siteId, uid) => messagingModule.messaging.presence.get(siteId, uid).lastSeen,
    siteLinks: () => messagingModule.messaging.siteLinks(),
    natsState,
    siteCaNotAfter: () => identity.ca()?.notAfter ?? null,
  });
  modules.push(healthModule);
  // What remote LOs forward over the bus (store and forward) lands in the CO's records: statuses and
  // node inventory, mapped to this CO's node by site and name.
  if (config.role !== 'lo') {
    const reportCursors = createReportCursors(store);
    messagingModule.messaging.onNodeStatus((r) => {
      if (!isForwardedStatus(r.body)) return;
      const owner = linkOwner(r.siteId);
      const node = owner ? fleetModule.fleet.remoteNode(owner, r.siteId, r.nodeUid) : undefined;
      if (!node)
        return logger.warn(
          { site: r.siteId, node: r.nodeUid },
          'status from a remote site for an unknown node; dropped',
        );
      // Dated by when the node made it (older LOs: when the LO received it); applied once per
      // (site, node, seq) even when the stream hands it over again after a crash (ADR 0168, 0169).
      engine.recordStatus({
        clientId: node.uid,
        status: r.body.status,
        digest: r.body.digest ?? undefined,
        receivedAt: clock.now(),
        eventAt: r.body.eventAt ?? r.body.receivedAt,
        ...(r.seq !== null ? { origin: { key: busOrigin(r.siteId, r.nodeUid), seq: r.seq } } : {}),
      });
    });
    messagingModule.messaging.onNodeEvent((r) => {
      if (!isNodeInventory(r.body)) return;
      if (r.body.siteId !== r.siteId)
        return logger.warn({ site: r.siteId }, 'node inventory naming another site; dropped');
      // The inventory belongs to the tenant the site's bus link was issued for (ADR 0522).
      const owner = linkOwner(r.siteId);
      const inventory = r.body;
      const origin = r.seq !== null ? busOrigin(r.siteId, r.nodeUid) : undefined;
      const applied =
        owner === null
          ? ('dropped' as const)
          : store.tx(() => {
              if (origin && reportCursors.applied(origin, r.seq!)) return 'replay' as const;
              if (origin) reportCursors.mark(origin, r.seq!, clock.now());
              return fleetModule.fleet.upsertRemoteNode(owner, r.siteId, inventory)
                ? ('ok' as const)
                : ('dropped' as const);
            });
      if (applied === 'dropped')
        logger.warn(
          { site: r.siteId, tenant: owner, node: inventory.nodeName },
          'node inventory from a site without a remote site record for its link; dropped',
        );
    });
  }

  const handlers = mergeHandlers(modules);
  const dispatcher = createDispatcher({
    checkOutputs: deps.checkOutputs ?? (process.env.VITEST !== undefined || process.env.NODE_ENV === 'test'),
    contract,
    handlers,
    audit,
    journal: createCallJournal({ store, audit, clock }),
    logger: logger.child({ component: 'rpc' }),
    clock,
  });

  const core: Core = {
    config,
    paths,
    store,
    clock,
    logger,
    events,
    audit,
    auth,
    tickets,
    dispatcher,
    startedAt,
    messaging: messagingModule.messaging,
    lo: loModule.lo,
    deploy: engine,
    registry: registryModule.registry,
    health: healthModule.health,
    context(principal, transport, options = {}) {
      let tenantId = principal.tenantId;
      if (options.tenant && options.tenant !== principal.tenantId) {
        if (!isAdmin(principal.roles))
          throw new OutpostError(
            'forbidden',
            `this token may not act on tenant "${options.tenant}" (only the admin role acts on other tenants)`,
            { data: { requiredRoles: ['admin'], roles: [...principal.roles] } },
          );
        if (!tenantExists(store, options.tenant))
          throw new OutpostError('not-found', `tenant "${options.tenant}" was not found`);
        tenantId = options.tenant;
      }
      return {
        principal,
        tenantId,
        transport,
        source: options.source ?? (transport === 'ipc' ? 'console' : 'api'),
        requestId: options.requestId ?? crypto.randomUUID(),
        signal: options.signal ?? new AbortController().signal,
        ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
      };
    },
    client(principal = LOCAL_ADMIN(config.tenancy.defaultTenant)) {
      return createClient(contract, {
        invoke: (channel, input, opts) =>
          dispatcher.call(
            channel,
            input,
            core.context(principal, 'inproc', {
              tenant: opts?.tenant,
              signal: opts?.signal,
              idempotencyKey: opts?.idempotencyKey,
            }),
          ),
        subscribe: (onEvent) => events.subscribe(onEvent),
      });
    },
    async start() {
      const began = performance.now();
      const took: Record<string, number> = {};
      for (const m of modules) {
        if (!m.start) continue;
        const t0 = performance.now();
        await m.start();
        took[m.name] = Math.round(performance.now() - t0);
      }
      logger.info(
        { role: config.role, home: paths.home, ms: Math.round(performance.now() - began), modules: took },
        'core started',
      );
    },
    ready() {
      for (const m of modules) m.ready?.();
    },
    async stop() {
      for (const m of [...modules].reverse()) {
        try {
          await m.stop?.();
        } catch (err) {
          logger.warn({ err, module: m.name }, 'module failed to stop cleanly');
        }
      }
    },
  };
  return core;
}

function mergeHandlers(modules: CoreModule[]): HandlersOf<Contract> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const m of modules) {
    for (const [service, methods] of Object.entries(m.handlers ?? {})) {
      out[service] ??= {};
      for (const [name, fn] of Object.entries(methods as Record<string, unknown>)) {
        if (out[service][name]) throw new Error(`${service}.${name} is implemented twice (module ${m.name})`);
        out[service][name] = fn;
      }
    }
  }
  return out as HandlersOf<Contract>;
}

export function ensureTenant(store: Store, id: string, now: number, name = id): void {
  store.sqlite
    .prepare('INSERT OR IGNORE INTO tenants (id, name, created_at) VALUES (?, ?, ?)')
    .run(id, name, now);
}

export function tenantExists(store: Store, id: string): boolean {
  return store.sqlite.prepare('SELECT 1 FROM tenants WHERE id = ?').get(id) !== undefined;
}
