import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { CoreModule } from '../module.js';
import type { Config } from '../config.js';
import { type Paths, type Clock, projectRoot } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { EventHub } from '../events.js';
import type { NatsState, BusPresence, SiteLink, Topic } from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import {
  openCredentialStore,
  type CredentialStore,
  type LeafCredentials,
  type NodeCredentials,
} from './credentials.js';
import { locateNatsServer } from './locate.js';
import { connectHost } from './ports.js';
import {
  classifyBySeconds,
  createPresenceTracker,
  type PresenceChange,
  type PresenceEntry,
  type PresenceTracker,
} from './presence-tracker.js';
import { worsePresence, type Presence } from '../../lib/model/index.js';
import type { LeafRemote, TlsFiles } from './server-config.js';
import {
  SOURCE_SILENT_MS,
  aggregateSources,
  checkSource,
  ensureHubStreams,
  ensureSiteDownStream,
  ensureSiteUpStream,
  recreateSource,
  type HubSite,
} from './streams.js';
import { linkHealth, linkTiming, type LinkTiming } from './link-health.js';
import {
  createHubLinks,
  createSiteLinkResponder,
  type HubLinks,
  type SiteLinkResponder,
} from './site-links.js';
import {
  AGGREGATE_UP_STREAM,
  HEADER_SENT_AT,
  HEADER_SEQ,
  LOCAL_DOWN_STREAM,
  assertNodeUid,
  assertSiteId,
  desiredSubject,
  downStreamName,
  nodeSubject,
  upStreamName,
  type LogsReply,
  type LogsRequest,
} from '../../lib/bus/index.js';
import { createNatsSupervisor, type NatsSupervisor, type SupervisorTiming } from './supervisor.js';
import { connectService, hasHub, hasSite, serverInputFor, type MessagingRole } from './topology.js';
import { createUplinkReader, type UpMessage, type UplinkReader } from './uplink.js';

/**
 * The messaging module (ADR 0160-0165): runs the embedded nats-server (when `nats.enabled`), owns the
 * credential registry, and offers the bus to the other modules: "poll now" to nodes, node status and
 * events (read once, in order, from the upward stream), presence, desired-state notices downward, and
 * the CO's view of each site's link. Without nats-server the rest of the console keeps working:
 * agents poll on their interval.
 */

export interface NodeReport {
  siteId: string;
  nodeUid: string;
  kind: 'status' | 'events';
  /** The node's sequence number (strictly increasing per node): the application's idempotency key. */
  seq: number | null;
  sentAt: number | null;
  body: unknown;
}

export interface DesiredNotice {
  siteId: string;
  sentAt: number | null;
  body: unknown;
}

export interface PollNowInfo {
  reason?: string;
  manifestVersion?: number;
}

export interface Messaging {
  natsState(): NatsState;
  /** Client URL of the embedded server once its port is chosen (also while it starts). */
  natsUrl(): string | null;
  /** Resolves when the server runs and the streams exist. */
  ready(timeoutMs?: number): Promise<void>;
  /** A node's NKEY user (seed included unless `publicKey` is given); the server reloads without dropping others. */
  issueNodeCredentials(
    nodeUid: string,
    siteId: string,
    options?: { publicKey?: string },
  ): Promise<NodeCredentials>;
  addNodeUser(nodeUid: string, siteId: string, publicKey: string): Promise<NodeCredentials>;
  removeNodeUser(nodeUid: string): Promise<boolean>;
  /** CO: the leaf credentials an LO of `siteId` joins with (and the URL with them embedded, for `nats.hubLeafUrl`). */
  issueLeafCredentials(
    siteId: string,
    options?: { tenantId?: string; rotate?: boolean },
  ): Promise<LeafCredentials & { hubLeafUrl: string | null }>;
  revokeLeafCredentials(siteId: string): Promise<boolean>;
  /**
   * CO: the link of a remote site on this bus and the tenant it was issued for (null: issued before
   * links named a tenant), or null when the site has no link. The link, never the sites table, says
   * whose site the traffic of `siteId` is (ADR 0522).
   */
  siteLink(siteId: string): { tenantId: string | null } | null;
  /**
   * LO: asks a node for a deployment's workload output over the site bus (ADR 0016) and returns its
   * answer. Throws `nats-unavailable` when the bus is down, `node/unreachable` when the node does not
   * answer (not connected, or an agent without the logs module).
   */
  requestNodeLogs(
    siteId: string,
    nodeUid: string,
    request: LogsRequest,
    timeoutMs?: number,
  ): Promise<LogsReply>;
  /** LO: tells a node to poll now; false when the bus is not up (the node's periodic poll covers it). */
  notifyPollNow(siteId: string, nodeUid: string, info?: PollNowInfo): boolean;
  /**
   * LO: forwards a report a node made over the MMI upward, as if the node had published it on the bus
   * (the site's upward stream keeps it until the CO has it). `seq` must grow per node; resending the
   * same seq is deduplicated. Throws `nats-unavailable` when it was not stored.
   */
  forwardNodeReport(
    siteId: string,
    nodeUid: string,
    kind: 'status' | 'events',
    body: unknown,
    seq: number,
  ): Promise<void>;
  /** CO: a desired-state change notice for a site (stored, and delivered to the LO when its link is up). */
  publishDesiredNotice(siteId: string, body: unknown): Promise<void>;
  /** Handlers are called once per report, in each node's order; register them before `core.start()`. */
  onNodeStatus(handler: (r: NodeReport) => void | Promise<void>): () => void;
  onNodeEvent(handler: (r: NodeReport) => void | Promise<void>): () => void;
  onPresence(handler: (c: PresenceChange) => void): () => void;
  onDesiredNotice(handler: (n: DesiredNotice) => void | Promise<void>): () => void;
  presence: {
    list(siteId: string): PresenceEntry[];
    get(siteId: string, nodeUid: string): PresenceEntry;
    /**
     * CO: a remote site's node by its name, whatever tenant its LO files it under (the LO's
     * `<tenant>.<name>` is not this CO's uid); undefined when the site never reported it.
     */
    remoteByName(siteId: string, nodeName: string): PresenceEntry | undefined;
  };
  siteLinks(): Promise<SiteLink[]>;
  /** LO: how many reports wait in the LO's own outbox (counted into its outgoing backlog). */
  setOutboxBacklog(count: () => number): void;
}

export interface MessagingModuleDeps {
  config: Config;
  paths: Paths;
  logger: Logger;
  clock: Clock;
  events?: EventHub;
  /** Where a packaged app keeps nats-server (default `<root>/resources/bin`). */
  resourcesBin?: string;
  /** Default `process.env.PATH`. */
  pathEnv?: string;
  /** TLS files from the site CA, once the identity module provides them. */
  tls?: () => TlsFiles | undefined;
  timing?: Partial<SupervisorTiming>;
  /** Presence re-evaluation period (default 1 s). */
  scanIntervalMs?: number;
  /** How often the CO refreshes link states (default 5 s). */
  linkPollMs?: number;
  /** Link probe, unreachable and stall periods (default: derived from `nats.heartbeatSeconds`). */
  linkTiming?: Partial<LinkTiming>;
}

interface RemoteNode {
  state: Presence;
  lastSeen: number | null;
  reportedAt: number;
}
interface SiteData {
  lastDataAt: number | null;
  heartbeatAt: number | null;
  nodes: Record<string, RemoteNode>;
}

export function createMessagingModule(deps: MessagingModuleDeps): CoreModule & { messaging: Messaging } {
  const { config, paths, clock } = deps;
  const log = deps.logger.child({ component: 'messaging' });
  const role = config.role as MessagingRole;
  const siteId = config.site.id;
  const natsDir = paths.natsDir;
  const thresholds = {
    staleAfterSeconds: config.nats.staleAfterSeconds,
    offlineAfterSeconds: config.nats.offlineAfterSeconds,
  };

  let credentials: CredentialStore | undefined;
  const creds = () =>
    (credentials ??= openCredentialStore({ file: path.join(natsDir, 'credentials.json'), clock }));

  let staticState: NatsState = {
    state: 'stopped',
    url: null,
    message: null,
    since: clock.now(),
    restarts: 0,
  };
  let sup: NatsSupervisor | undefined;
  let nc: NatsConnection | undefined;
  let tracker: PresenceTracker | undefined;
  let upReader: UplinkReader | undefined;
  let downReader: UplinkReader | undefined;
  let stopping = false;
  let booted = false;
  let bootWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let linkTimer: NodeJS.Timeout | undefined;
  let hubLinks: HubLinks | undefined;
  let siteResponder: SiteLinkResponder | undefined;
  let outboxBacklog: (() => number) | undefined;
  /** LO: the newest desired-state notice delivered from the CO (this server's clock). */
  let downDeliveryAt: number | null = null;
  /** When each leaf was first seen present in this run (site id, or this LO's own for role lo). */
  const leafSeen = new Map<string, number>();
  const timing = { ...linkTiming(config.nats.heartbeatSeconds), ...deps.linkTiming };
  let reloadChain: Promise<void> = Promise.resolve();

  const statusHandlers = new Set<(r: NodeReport) => void | Promise<void>>();
  const eventHandlers = new Set<(r: NodeReport) => void | Promise<void>>();
  const presenceHandlers = new Set<(c: PresenceChange) => void>();
  const desiredHandlers = new Set<(n: DesiredNotice) => void | Promise<void>>();
  const linkState = new Map<string, { link: SiteLink['link']; since: number }>();

  // ---- the CO's memory of remote sites (last data, LO heartbeat, presence as reported) ----
  const remoteFile = path.join(natsDir, 'remote-sites.json');
  let remote: Record<string, SiteData> | undefined;
  let remoteTimer: NodeJS.Timeout | undefined;
  const remoteSites = (): Record<string, SiteData> => {
    if (remote) return remote;
    try {
      remote = JSON.parse(fs.readFileSync(remoteFile, 'utf8')) as Record<string, SiteData>;
    } catch {
      remote = {};
    }
    return remote;
  };
  const saveRemote = () => {
    if (!remote) return;
    try {
      fs.mkdirSync(natsDir, { recursive: true, mode: 0o700 });
      const tmp = `${remoteFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(remote), { mode: 0o600 });
      fs.renameSync(tmp, remoteFile);
    } catch (err) {
      log.warn({ err }, 'cannot save the remote site state');
    }
  };
  const remoteChanged = () => {
    if (remoteTimer) return;
    remoteTimer = setTimeout(() => {
      remoteTimer = undefined;
      saveRemote();
    }, 1000);
    remoteTimer.unref?.();
  };
  const siteData = (id: string): SiteData =>
    (remoteSites()[id] ??= { lastDataAt: null, heartbeatAt: null, nodes: {} });

  // ---- console change notifications, coalesced ----
  const pendingTopics = new Set<Topic>();
  let topicTimer: NodeJS.Timeout | undefined;
  const changed = (topic: Topic) => {
    if (!deps.events) return;
    pendingTopics.add(topic);
    if (topicTimer) return;
    topicTimer = setTimeout(() => {
      topicTimer = undefined;
      const topics = [...pendingTopics];
      pendingTopics.clear();
      deps.events?.changed(null, ...topics);
    }, 250);
    topicTimer.unref?.();
  };

  const setStatic = (state: NatsState['state'], message: string | null) => {
    staticState = { state, url: null, message, since: clock.now(), restarts: 0 };
    changed('system');
  };

  const hubLeaf = (): LeafRemote | undefined => {
    const raw = config.nats.hubLeafUrl;
    if (!raw || role !== 'lo') return undefined;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new OutpostError(
        'invalid-config',
        `nats.hubLeafUrl "${raw.replace(/\/\/[^@/]*@/, '//***@')}" is not a URL (nats-leaf://host:port)`,
      );
    }
    let user = u.username ? decodeURIComponent(u.username) : undefined;
    let password = u.password ? decodeURIComponent(u.password) : undefined;
    if (!user) {
      try {
        const f = JSON.parse(fs.readFileSync(path.join(natsDir, 'leaf-credentials.json'), 'utf8')) as {
          user?: string;
          password?: string;
        };
        user = f.user;
        password = f.password;
      } catch {
        /* no credentials: the hub will refuse the leaf and say so in its log */
      }
    }
    u.username = '';
    u.password = '';
    // The hub's leaf port is verified against the hub's CA (its own site CA, not this LO's).
    const hubCa = config.nats.hubCaFile;
    return { url: u.toString(), user, password, tls: hubCa ? { caFile: hubCa } : undefined };
  };

  const serverInput = () =>
    serverInputFor({
      role,
      siteId,
      host: config.nats.host,
      port: config.nats.port,
      leafPort: config.nats.leafPort,
      leafAdvertise: config.nats.leafAdvertise,
      storeDir: path.join(natsDir, 'jetstream'),
      credentials: creds(),
      tls: deps.tls?.(),
      hubLeaf: hubLeaf(),
    });

  const hubSites = (): HubSite[] => {
    if (!hasHub(role)) return [];
    const out: HubSite[] = role === 'all' ? [{ siteId, local: true }] : [];
    for (const l of creds().leafs())
      if (!(role === 'all' && l.siteId === siteId)) out.push({ siteId: l.siteId, local: false });
    return out;
  };

  const reload = (): Promise<void> => {
    const next = reloadChain.then(async () => {
      if (!sup) return;
      await sup.reconfigure(() => serverInput());
    });
    reloadChain = next.catch(() => undefined);
    return next;
  };

  // ---- dispatch of upward and downward messages ----
  const callAll = async <T>(handlers: Set<(x: T) => void | Promise<void>>, x: T) => {
    for (const h of handlers) await h(x);
  };

  const dispatchUp = async (m: UpMessage) => {
    const own = hasSite(role) && m.siteId === siteId;
    if (m.source === 'node' && m.nodeUid && (m.kind === 'status' || m.kind === 'events')) {
      if (!own) {
        const sd = siteData(m.siteId);
        sd.lastDataAt = Math.max(sd.lastDataAt ?? 0, m.sentAt ?? m.storedAt);
        remoteChanged();
      }
      const report: NodeReport = {
        siteId: m.siteId,
        nodeUid: m.nodeUid,
        kind: m.kind,
        seq: m.seq,
        sentAt: m.sentAt,
        body: m.body,
      };
      if (m.kind === 'status' && statusHandlers.size === 0)
        log.debug({ nodeUid: m.nodeUid }, 'node status without a handler');
      await callAll(m.kind === 'status' ? statusHandlers : eventHandlers, report);
      return;
    }
    if (m.source !== 'lo' || own) return;
    const sd = siteData(m.siteId);
    const sentAt = m.sentAt ?? m.storedAt;
    sd.lastDataAt = Math.max(sd.lastDataAt ?? 0, sentAt);
    if (m.kind === 'heartbeat') {
      sd.heartbeatAt = Math.max(sd.heartbeatAt ?? 0, sentAt);
    } else if (m.kind === 'presence') {
      const c = m.body as PresenceChange;
      if (typeof c?.nodeUid === 'string' && typeof c.state === 'string') {
        if (!sd.nodes[c.nodeUid]) byName.delete(m.siteId);
        sd.nodes[c.nodeUid] = { state: c.state, lastSeen: c.lastSeen ?? null, reportedAt: sentAt };
        for (const h of presenceHandlers) h({ ...c, siteId: m.siteId });
        changed('nodes');
      }
    }
    remoteChanged();
  };

  const dispatchDown = async (m: UpMessage) => {
    if (m.source !== 'co' || m.kind !== 'desired') return;
    await callAll(desiredHandlers, { siteId: m.siteId, sentAt: m.sentAt, body: m.body });
  };

  const startUpReader = () => {
    if (upReader || !nc) return;
    const stream = hasHub(role) ? AGGREGATE_UP_STREAM : upStreamName(siteId);
    upReader = createUplinkReader({
      nc,
      stream,
      cursorFile: path.join(natsDir, `cursor-${stream}.json`),
      logger: log.child({ reader: stream }),
      handle: dispatchUp,
      // Every message a remote site's stream delivers is evidence that its link works (ADR 0165).
      observe: (m) => {
        if (hasHub(role) && !(role === 'all' && m.siteId === siteId))
          hubLinks?.delivered(m.siteId, m.origin?.seq ?? null);
      },
    });
    void upReader.start();
  };

  const ensureStreams = async () => {
    if (!nc) return;
    const jsm = await jetstreamManager(nc);
    if (hasSite(role)) await ensureSiteUpStream(jsm, siteId);
    const leaf = role === 'lo' ? hubLeaf() : undefined;
    if (leaf) await ensureSiteDownStream(jsm, siteId);
    if (hasHub(role)) await ensureHubStreams(jsm, hubSites());
  };

  const waitRunning = () =>
    new Promise<void>((resolve, reject) => {
      if (!sup) return reject(new OutpostError('nats-unavailable', 'nats-server is not running'));
      if (sup.state().state === 'running') return resolve();
      const off = sup.onState((s) => {
        if (s.state === 'running') {
          off();
          resolve();
        } else if (s.state === 'stopped') {
          off();
          reject(new OutpostError('nats-unavailable', 'nats-server was stopped'));
        }
      });
    });

  const boot = async () => {
    await waitRunning();
    if (stopping || !sup) return;
    const tls = deps.tls?.();
    // One attempt at a time, so a stop during start-up never leaves a connection retrying forever.
    while (!stopping && !nc) {
      try {
        const conn = await connectService({
          url: sup.clientUrl()!,
          seed: creds().serviceSeed(),
          publicKey: creds().servicePublicKey(),
          name: `outpost-${role}-${siteId}`,
          tls: tls ? { caFile: tls.caFile } : undefined,
          waitOnFirstConnect: false,
        });
        if (stopping) {
          await conn.close();
          return;
        }
        nc = conn;
      } catch (err) {
        log.debug({ err }, 'service connection failed; retrying');
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (stopping || !nc) return;
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureStreams();
        break;
      } catch (err) {
        if (stopping) return;
        if (attempt % 10 === 1) log.warn({ err }, 'cannot create the NATS streams yet; retrying');
        await new Promise((r) => setTimeout(r, Math.min(5_000, 200 * attempt)));
      }
    }
    if (stopping) return;
    if (hasSite(role)) {
      const t = createPresenceTracker({
        nc,
        siteId,
        thresholds,
        knownNodes: () =>
          creds()
            .nodes(siteId)
            .map((n) => n.nodeUid),
        clock,
        logger: log.child({ part: 'presence' }),
        heartbeatSeconds: config.nats.heartbeatSeconds,
        scanIntervalMs: deps.scanIntervalMs,
      });
      tracker = t;
      t.onChange((c) => {
        for (const h of presenceHandlers) h(c);
        changed('nodes');
      });
      await t.start();
      if (stopping) return;
    }
    if (role === 'lo' || hubSites().length > 0) startUpReader();
    const downStream =
      role === 'lo'
        ? hubLeaf()
          ? LOCAL_DOWN_STREAM
          : undefined
        : role === 'all'
          ? downStreamName(siteId)
          : undefined;
    if (downStream) {
      downReader = createUplinkReader({
        nc,
        stream: downStream,
        cursorFile: path.join(natsDir, `cursor-${downStream}.json`),
        logger: log.child({ reader: downStream }),
        handle: dispatchDown,
        observe: () => {
          downDeliveryAt = clock.now();
        },
      });
      void downReader.start();
    }
    if (hasHub(role)) {
      const conn = nc;
      hubLinks = createHubLinks({
        nc: conn,
        clock,
        logger: log,
        timing,
        sites: () =>
          hubSites()
            .filter((x) => !x.local)
            .map((x) => x.siteId),
        file: path.join(natsDir, 'site-links.json'),
        readerBehind: async () => {
          const info = await (await jetstreamManager(conn)).streams.info(AGGREGATE_UP_STREAM);
          return upReader !== undefined && info.state.last_seq > upReader.position();
        },
        repair: async (id, what) => {
          if (what === 'reader') return upReader?.restart();
          const jsm = await jetstreamManager(conn);
          // A source missing from the aggregate, or changed, is written as it should be; a present one
          // is set up afresh.
          if (what === 'config' || !(await recreateSource(jsm, AGGREGATE_UP_STREAM, upStreamName(id))))
            await ensureHubStreams(jsm, hubSites());
        },
        checkSource: async (id) => {
          const want = aggregateSources(hubSites()).find((x) => x.name === upStreamName(id));
          if (!want) return { kind: 'missing' };
          // nats-server 2.9 hears from a working source at least every few seconds (its heartbeats),
          // also while it retries a refused message; quiet longer than this, the source is broken.
          const silentAfterMs = Math.max(timing.stallAfterMs, SOURCE_SILENT_MS);
          return checkSource(await jetstreamManager(conn), AGGREGATE_UP_STREAM, want, silentAfterMs);
        },
        onChange: () => changed('sites'),
      });
      hubLinks.start();
      linkTimer = setInterval(() => void siteLinks().catch(() => undefined), deps.linkPollMs ?? 5_000);
      linkTimer.unref?.();
    }
    if (role === 'lo' && hubLeaf()) {
      siteResponder = createSiteLinkResponder({
        nc,
        siteId,
        clock,
        logger: log,
        upStream: upStreamName(siteId),
        outbox: () => outboxBacklog?.() ?? null,
        file: path.join(natsDir, 'hub-link.json'),
        onChange: () => changed('sites'),
        unreachableAfterMs: timing.unreachableAfterMs,
      });
      siteResponder.start();
    }
    booted = true;
    for (const w of bootWaiters) w.resolve();
    bootWaiters = [];
    log.info({ role, url: sup.clientUrl() }, 'messaging ready');
  };

  const natsState = (): NatsState => sup?.state() ?? staticState;
  const running = () => sup?.state().state === 'running' && nc !== undefined && !nc.isClosed();

  const leafUrl = (): string | null => {
    const p = sup?.ports();
    if (!hasHub(role)) return null;
    if (config.nats.leafAdvertise) return `nats-leaf://${config.nats.leafAdvertise}`;
    const port = p?.leaf ?? config.nats.leafPort;
    return port ? `nats-leaf://${connectHost(config.nats.host)}:${port}` : null;
  };

  /**
   * GET a JSON document from nats-server's loopback monitoring port with node:http: Node's `fetch` loads
   * undici and compiles its parser on the first call (~25 ms), which the health module's first sample
   * would pay during the server's start.
   */
  const fetchJson = (url: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = http.get(url, { agent: false, timeout: 2_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (err) {
            reject(err as Error);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${url}: no answer within 2 s`)));
      req.on('error', reject);
    });

  const track = (id: string, link: SiteLink['link']): number => {
    const cur = linkState.get(id);
    if (cur && cur.link === link) return cur.since;
    const since = clock.now();
    linkState.set(id, { link, since });
    if (cur) {
      log.info({ siteId: id, link, was: cur.link }, 'site link changed');
      changed('sites');
    }
    return since;
  };

  /** When the leaf of `id` was first seen present in this run (null while absent). */
  const leafSince = (id: string, present: boolean | undefined, now: number): number | null => {
    if (!present) {
      leafSeen.delete(id);
      return null;
    }
    const at = leafSeen.get(id) ?? now;
    leafSeen.set(id, at);
    return at;
  };
  const ageSeconds = (at: number | null, now: number) =>
    at === null ? null : Math.max(0, (now - at) / 1000);

  const siteLinks = async (): Promise<SiteLink[]> => {
    const now = clock.now();
    const isUp = sup?.state().state === 'running';
    const monitor = sup?.monitorUrl();
    let leafs: { subscriptions_list?: string[] }[] | undefined;
    if (isUp && monitor) {
      try {
        leafs = ((await fetchJson(`${monitor}/leafz?subs=1`)) as { leafs?: typeof leafs }).leafs ?? [];
      } catch {
        leafs = undefined;
      }
    }
    if (role === 'lo') {
      if (!hubLeaf()) {
        return [
          {
            siteId,
            link: 'standalone',
            since: track(siteId, 'standalone'),
            backlog: null,
            lastContactSeconds: null,
            lastDataAt: null,
            dataAgeSeconds: null,
          },
        ];
      }
      // The LO's own view of its link to the CO: the CO's probes (and its notices) are the evidence.
      const st = siteResponder?.state() ?? { pingAt: null, hubAt: null, hubReceived: null };
      const present = leafs === undefined ? undefined : leafs.length > 0;
      const h = linkHealth(
        {
          leafConnected: present,
          leafSince: leafSince(siteId, present, now),
          pongAt: st.pingAt,
          deliveryAt: downDeliveryAt,
        },
        now,
        timing.unreachableAfterMs,
      );
      const tracked = track(siteId, h.link);
      const since = h.link === 'unreachable' ? h.unreachableSince : tracked;
      return [
        {
          siteId,
          link: h.link,
          since,
          backlog: (await siteResponder?.backlog().catch(() => null)) ?? null,
          lastContactSeconds: ageSeconds(h.lastEvidenceAt, now),
          lastDataAt: st.hubAt,
          dataAgeSeconds: ageSeconds(st.pingAt, now),
          evidence: {
            probeAgeSeconds: ageSeconds(st.pingAt, now),
            deliveryAgeSeconds: ageSeconds(downDeliveryAt, now),
            roundTripMs: null,
          },
        },
      ];
    }
    const connectedDomains = new Set<string>();
    for (const l of leafs ?? []) {
      for (const s of l.subscriptions_list ?? []) {
        const m = /^\$JS\.site-([a-z0-9-]+)\.API\.INFO$/.exec(s);
        if (m) connectedDomains.add(m[1]!);
      }
    }
    const sources = new Map<string, { lag: number; active: number }>();
    if (isUp && nc && hubSites().length > 0) {
      try {
        const info = await (await jetstreamManager(nc)).streams.info(AGGREGATE_UP_STREAM);
        for (const s of info.sources ?? []) sources.set(s.name, { lag: s.lag, active: s.active });
      } catch {
        /* the aggregate does not exist yet */
      }
    }
    return hubSites().map((s): SiteLink => {
      if (s.local) {
        return {
          siteId: s.siteId,
          link: 'local',
          since: track(s.siteId, 'local'),
          backlog: Math.max(0, sources.get(upStreamName(s.siteId))?.lag ?? 0),
          lastContactSeconds: null,
          lastDataAt: tracker ? now : null,
          dataAgeSeconds: tracker ? 0 : null,
        };
      }
      const present = leafs === undefined ? undefined : connectedDomains.has(s.siteId);
      const e = hubLinks?.evidence(s.siteId);
      const h = linkHealth(
        {
          leafConnected: present,
          leafSince: leafSince(s.siteId, present, now),
          pongAt: e?.pongAt ?? null,
          deliveryAt: e?.deliveryAt ?? null,
        },
        now,
        timing.unreachableAfterMs,
      );
      const tracked = track(s.siteId, h.link);
      const sd = remoteSites()[s.siteId];
      const lastDataAt = sd ? Math.max(sd.lastDataAt ?? 0, sd.heartbeatAt ?? 0) || null : null;
      const src = sources.get(upStreamName(s.siteId));
      // A backlog only while the link is known to work: over a cut or dead link (or one never probed)
      // the site may be queueing, so it is unknown (ADR 0165, 0363). The probe answer counts it exactly;
      // an LO that does not answer probes falls back to the source's lag.
      let backlog: number | null = null;
      if (h.link === 'connected') {
        const fromProbe =
          e?.pongAt != null && now - e.pongAt <= timing.unreachableAfterMs
            ? hubLinks!.backlog(s.siteId)
            : null;
        backlog = fromProbe ?? (src && src.active >= 0 ? Math.max(0, src.lag) : null);
      }
      return {
        siteId: s.siteId,
        link: h.link,
        since: h.link === 'unreachable' ? h.unreachableSince : tracked,
        backlog,
        lastContactSeconds: ageSeconds(h.lastEvidenceAt, now),
        lastDataAt,
        dataAgeSeconds: ageSeconds(lastDataAt, now),
        evidence: {
          probeAgeSeconds: ageSeconds(e?.pongAt ?? null, now),
          deliveryAgeSeconds: ageSeconds(e?.deliveryAt ?? null, now),
          roundTripMs: e?.rttMs ?? null,
        },
        repairs: e?.repairs ?? 0,
        lastRepairAt: e?.lastRepairAt ?? null,
      };
    });
  };

  type RemoteSite = NonNullable<ReturnType<typeof remoteSites>[string]>;
  const remoteEntry = (
    id: string,
    sd: RemoteSite,
    nodeUid: string,
    r: RemoteSite['nodes'][string],
    now: number,
  ): PresenceEntry => {
    // The LO reported this state; while it keeps heartbeating without a change, an online node
    // stayed online. Whatever was reported, the age decides the best the CO may show.
    const basis =
      r.state === 'online' && sd.heartbeatAt !== null
        ? Math.max(r.lastSeen ?? 0, sd.heartbeatAt)
        : r.lastSeen;
    const byAge = classifyBySeconds(basis, now, thresholds);
    const state = r.state === 'online' ? byAge : worsePresence(r.state, byAge);
    return {
      siteId: id,
      nodeUid,
      state,
      lastSeen: basis,
      ageSeconds: basis === null ? null : Math.max(0, (now - basis) / 1000),
    };
  };
  const remotePresence = (id: string): PresenceEntry[] => {
    const now = clock.now();
    const sd = remoteSites()[id];
    if (!sd) return [];
    return Object.entries(sd.nodes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([nodeUid, r]) => remoteEntry(id, sd, nodeUid, r, now));
  };
  // Remote nodes by name (the part after the LO's `<tenant>.`), per site; rebuilt when the site reports.
  const byName = new Map<string, Map<string, string>>();
  const remoteUidOf = (id: string, name: string): string | undefined => {
    const sd = remoteSites()[id];
    if (!sd) return undefined;
    let idx = byName.get(id);
    if (!idx) {
      idx = new Map();
      for (const uid of Object.keys(sd.nodes)) idx.set(uid.slice(uid.indexOf('.') + 1), uid);
      byName.set(id, idx);
    }
    return idx.get(name);
  };
  /** One node's presence without listing the site (lists of thousands ask once per node). */
  const onePresence = (id: string, nodeUid: string): PresenceEntry | undefined => {
    assertSiteId(id);
    if (hasSite(role) && id === siteId) {
      if (tracker) return tracker.get(nodeUid);
      return undefined;
    }
    if (!hasHub(role)) return undefined;
    const sd = remoteSites()[id];
    const r = sd?.nodes[nodeUid];
    return sd && r ? remoteEntry(id, sd, nodeUid, r, clock.now()) : undefined;
  };

  const listPresence = (id: string): PresenceEntry[] => {
    assertSiteId(id);
    if (hasSite(role) && id === siteId) {
      if (tracker) return tracker.list();
      return creds()
        .nodes(siteId)
        .map((n) => ({
          siteId,
          nodeUid: n.nodeUid,
          state: 'unknown' as const,
          lastSeen: null,
          ageSeconds: null,
        }));
    }
    return hasHub(role) ? remotePresence(id) : [];
  };

  const requireHub = (what: string) => {
    if (!hasHub(role))
      throw new OutpostError('invalid-input', `${what} is a CO operation (this server's role is ${role})`);
  };

  const messaging: Messaging = {
    natsState,
    natsUrl: () => {
      const s = natsState();
      return s.url ?? null;
    },
    ready(timeoutMs = 30_000) {
      if (booted) return Promise.resolve();
      if (!sup)
        return Promise.reject(
          new OutpostError('nats-unavailable', natsState().message ?? 'nats-server is not running'),
        );
      return new Promise((resolve, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new OutpostError(
                'timeout',
                `messaging not ready within ${timeoutMs} ms (${natsState().state})`,
              ),
            ),
          timeoutMs,
        );
        bootWaiters.push({
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
          reject: (e) => {
            clearTimeout(t);
            reject(e);
          },
        });
      });
    },
    async issueNodeCredentials(nodeUid, id, options) {
      const c = creds().issueNode(nodeUid, id, options);
      await reload();
      return c;
    },
    addNodeUser(nodeUid, id, publicKey) {
      return messaging.issueNodeCredentials(nodeUid, id, { publicKey });
    },
    async removeNodeUser(nodeUid) {
      assertNodeUid(nodeUid);
      const removed = creds().removeNode(nodeUid);
      if (removed) await reload();
      return removed;
    },
    async issueLeafCredentials(id, options = {}) {
      requireHub('issuing leaf credentials');
      assertSiteId(id);
      if (role === 'all' && id === siteId) {
        throw new OutpostError(
          'invalid-input',
          `site "${id}" is served by this server itself and needs no leaf link`,
        );
      }
      const leaf = creds().issueLeaf(id, options);
      await reload();
      if (running()) {
        await ensureStreams();
        startUpReader();
        void siteLinks().catch(() => undefined);
      }
      const base = leafUrl();
      let hubLeafUrl: string | null = null;
      if (base) {
        const u = new URL(base);
        u.username = encodeURIComponent(leaf.user);
        u.password = encodeURIComponent(leaf.password);
        hubLeafUrl = u.toString().replace(/\/$/, '');
      }
      return { ...leaf, hubLeafUrl };
    },
    async revokeLeafCredentials(id) {
      requireHub('revoking leaf credentials');
      assertSiteId(id);
      const removed = creds().revokeLeaf(id);
      if (removed) await reload();
      return removed;
    },
    siteLink(id) {
      const l = creds()
        .leafs()
        .find((x) => x.siteId === id);
      return l ? { tenantId: l.tenantId ?? null } : null;
    },
    async requestNodeLogs(id, nodeUid, request, timeoutMs = 10_000) {
      assertSiteId(id);
      if (!running() || !nc)
        throw new OutpostError(
          'nats-unavailable',
          `the site bus is not running (nats-server is ${natsState().state}): the node cannot be asked`,
        );
      let reply;
      try {
        reply = await nc.request(nodeSubject(id, nodeUid, 'logs'), JSON.stringify(request), {
          timeout: timeoutMs,
        });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const why =
          code === '503' || /no responders/i.test((err as Error).message)
            ? 'it is not connected to the site bus'
            : `it did not answer within ${Math.round(timeoutMs / 1000)} s`;
        throw new OutpostError('node/unreachable', `node ${nodeUid} cannot be asked for logs: ${why}`, {
          status: 503,
          data: { node: nodeUid },
        });
      }
      try {
        return reply.json<LogsReply>();
      } catch {
        throw new OutpostError('node/unreachable', `node ${nodeUid} answered the logs request with no JSON`, {
          status: 502,
        });
      }
    },
    notifyPollNow(id, nodeUid, info = {}) {
      if (!running() || !nc) return false;
      try {
        nc.publish(nodeSubject(id, nodeUid, 'notify'), JSON.stringify({ at: clock.now(), ...info }));
        return true;
      } catch (err) {
        log.debug({ err, nodeUid }, 'poll-now not sent');
        return false;
      }
    },
    async forwardNodeReport(id, nodeUid, kind, body, seq) {
      assertSiteId(id);
      if (!running() || !nc)
        throw new OutpostError(
          'nats-unavailable',
          `nats-server is ${natsState().state}; the report stays queued`,
        );
      const h = natsHeaders();
      h.set(HEADER_SEQ, String(seq));
      h.set(HEADER_SENT_AT, String(clock.now()));
      try {
        await jetstream(nc).publish(nodeSubject(id, nodeUid, kind), JSON.stringify(body), {
          msgID: `${nodeUid}:lo:${seq}`,
          headers: h,
          timeout: 5_000,
        });
      } catch (err) {
        throw new OutpostError(
          'nats-unavailable',
          `report ${seq} of ${nodeUid} not stored upward: ${(err as Error).message}`,
          { cause: err },
        );
      }
    },
    async publishDesiredNotice(id, body) {
      requireHub('publishing desired-state notices');
      assertSiteId(id);
      if (!hubSites().some((s) => s.siteId === id)) {
        throw new OutpostError(
          'not-found',
          `site "${id}" has no link to this CO (issue its leaf credentials first)`,
        );
      }
      if (!running() || !nc)
        throw new OutpostError(
          'nats-unavailable',
          `nats-server is ${natsState().state}; the LO will find the change on its next git poll`,
        );
      const h = natsHeaders();
      h.set(HEADER_SENT_AT, String(clock.now()));
      await jetstream(nc).publish(desiredSubject(id), JSON.stringify(body), { headers: h });
    },
    onNodeStatus(handler) {
      statusHandlers.add(handler);
      return () => statusHandlers.delete(handler);
    },
    onNodeEvent(handler) {
      eventHandlers.add(handler);
      return () => eventHandlers.delete(handler);
    },
    onPresence(handler) {
      presenceHandlers.add(handler);
      return () => presenceHandlers.delete(handler);
    },
    onDesiredNotice(handler) {
      desiredHandlers.add(handler);
      return () => desiredHandlers.delete(handler);
    },
    presence: {
      list: listPresence,
      remoteByName(id, nodeName) {
        if (!hasHub(role) || (hasSite(role) && id === siteId)) return undefined;
        const uid = remoteUidOf(id, nodeName);
        return uid === undefined ? undefined : onePresence(id, uid);
      },
      get(id, nodeUid) {
        return (
          onePresence(id, nodeUid) ?? {
            siteId: id,
            nodeUid,
            state: 'unknown',
            lastSeen: null,
            ageSeconds: null,
          }
        );
      },
    },
    siteLinks,
    setOutboxBacklog(count) {
      outboxBacklog = count;
    },
  };

  const toBus = (e: PresenceEntry): BusPresence => ({
    siteId: e.siteId,
    nodeUid: e.nodeUid,
    presence: e.state,
    lastSeenAt: e.lastSeen,
    ageSeconds: e.ageSeconds,
  });

  return {
    name: 'messaging',
    messaging,
    natsState,
    handlers: {
      messaging: {
        async siteLinks() {
          return {
            links: await siteLinks(),
            thresholds: { ...thresholds, unreachableAfterSeconds: timing.unreachableAfterMs / 1000 },
            role,
            now: clock.now(),
          };
        },
        async linkSite(input, ctx) {
          const c = await messaging.issueLeafCredentials(input.siteId, {
            tenantId: ctx.tenantId,
            rotate: input.rotate,
          });
          const tls = deps.tls?.();
          return {
            siteId: input.siteId,
            user: c.user,
            hubLeafUrl: c.hubLeafUrl,
            hubCaPem: tls ? fs.readFileSync(tls.caFile, 'utf8') : null,
          };
        },
        async presence(input) {
          return { entries: listPresence(input.siteId).map(toBus), thresholds };
        },
      },
    },
    async start() {
      stopping = false;
      if (!config.nats.enabled) {
        setStatic('disabled', 'nats.enabled is false in the configuration; agents poll on their interval');
        return;
      }
      let binary: string;
      try {
        let resourcesBin = deps.resourcesBin;
        if (resourcesBin === undefined) {
          try {
            resourcesBin = path.join(projectRoot(), 'resources', 'bin');
          } catch {
            resourcesBin = undefined;
          }
        }
        binary = locateNatsServer({
          configured: config.nats.binary,
          resourcesBin,
          pathEnv: deps.pathEnv ?? process.env.PATH,
        });
      } catch (err) {
        const message = (err as Error).message;
        log.warn(message);
        setStatic('missing-binary', message);
        return;
      }
      try {
        sup = createNatsSupervisor({
          binary,
          dir: natsDir,
          config: serverInput(),
          logger: log,
          clock,
          timing: deps.timing,
        });
        sup.onState(() => changed('system'));
        await sup.start();
      } catch (err) {
        const message = `cannot start nats-server: ${(err as Error).message}`;
        log.warn({ err }, message);
        sup = undefined;
        setStatic('failed', message);
        return;
      }
      void boot().catch((err: unknown) => {
        if (stopping) return;
        log.warn({ err }, 'messaging did not come up');
        for (const w of bootWaiters) w.reject(OutpostError.from(err, 'nats-unavailable'));
        bootWaiters = [];
      });
    },
    async stop() {
      stopping = true;
      clearInterval(linkTimer);
      clearTimeout(topicTimer);
      for (const w of bootWaiters) w.reject(new OutpostError('nats-unavailable', 'messaging stopped'));
      bootWaiters = [];
      await hubLinks?.stop();
      await siteResponder?.stop();
      hubLinks = siteResponder = undefined;
      await upReader?.stop();
      await downReader?.stop();
      await tracker?.stop();
      upReader = downReader = tracker = undefined;
      await nc?.close().catch(() => undefined);
      nc = undefined;
      await sup?.stop();
      clearTimeout(remoteTimer);
      remoteTimer = undefined;
      saveRemote();
      booted = false;
    },
  };
}
