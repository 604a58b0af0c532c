import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { systemClock, type Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { mtlsClientOptions } from '../../lib/identity/index.js';
import { parseApplicationDeployment } from '../../lib/margo/index.js';
import { isLoopbackHost, parseReference, type RegistryClient, type BlobCache } from '../../lib/oci/index.js';
import type { AgentBus } from '../../lib/bus/index.js';
import path from 'node:path';
import { createMmiClient, type MmiClient } from '../margo/mmi-client.js';
import { isProblem } from '../margo/problem.js';
import { buildCapabilities, capabilitiesDigest, probeHost } from './capabilities.js';
import { bytesOf, loadAgentConfig, ms, type AgentConfig } from './config.js';
import { ensureDir, writeFileDurable } from './durable.js';
import { agentPaths, type AgentPaths } from './home.js';
import { certValidity, loadIdentity, type AgentIdentity } from './identity.js';
import { withVerifiedPeerCache } from './peer-cache.js';
import { acquireAgentLock, type AgentLock } from './lock.js';
import { createOutbox, type Outbox, type SendOutcome } from './outbox.js';
import type { PlanDeps } from './plan.js';
import { Reconciler } from './reconciler.js';
import { createRuntimeSet, type RuntimeSet } from './runtimes.js';
import { backoffMs, jittered, mayCommunicate } from './schedule.js';
import { isPeerIdentityError, securityEvent } from './security.js';
import { createStateStore, type StateStore } from './state.js';
import { shortMessage } from './status.js';
import { advertiseAgent } from './advertise.js';
import type { Advertisement } from '../../lib/discovery/index.js';
import { DesiredStateSync } from './sync.js';
import { createSiteRegistryPull, effectiveSiteRegistry } from './site-registry.js';

/** Longest sleep between two looks at the SVID's renewal time. */
const RENEW_CHECK_MAX_MS = 3600_000;

/**
 * The edge node agent (`edgectl agent`, ADR 0260): a Margo WFM client that polls the LO for its desired
 * state, reconciles it through the runtime adapters, reports status (queued on disk while the LO is away)
 * and keeps its capabilities current. It keeps running workloads running whatever happens to the LO,
 * and after a restart it picks up from `state.json` without restarting healthy workloads. It renews its own
 * SVID when a third of its lifetime is left (ADR 0380).
 */

export interface AgentOptions {
  home: string;
  /** Overrides the LO URL from the enrollment (the LO moved, or a port forward). */
  lo?: string;
  logger: Logger;
  clock?: Clock;
  version: string;
  env?: NodeJS.ProcessEnv;
  /** The WASM runner (default: located next to the CLI bundle). */
  wasmRunnerPath?: string;
  /** Root of /sys, /proc and /dev for the hardware probe (tests). */
  hostRoot?: string;
  /** Replaces agent.yaml (tests). */
  config?: AgentConfig;
}

export interface RunningAgent {
  readonly paths: AgentPaths;
  readonly deviceId: string;
  readonly instance: string;
  /** Polls now (a "poll now" notice does the same). */
  pollNow(): void;
  /** Stops polling and reconciling; workloads keep running. */
  stop(): Promise<void>;
}

export async function startAgent(o: AgentOptions): Promise<RunningAgent> {
  const paths = agentPaths(o.home);
  ensureDir(paths.home);
  const lock = acquireAgentLock(paths.lockFile);
  try {
    return await start(o, paths, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
}

function instanceId(paths: AgentPaths, node: string): string {
  try {
    const v = fs.readFileSync(paths.instanceIdFile, 'utf8').trim();
    if (v) return v;
  } catch {
    // first start
  }
  const id = `${node}-${randomBytes(4).toString('hex')}`;
  writeFileDurable(paths.instanceIdFile, id + '\n', 0o644);
  return id;
}

async function start(o: AgentOptions, paths: AgentPaths, lock: AgentLock): Promise<RunningAgent> {
  const clock = o.clock ?? systemClock;
  const log = o.logger.child({ component: 'agent' });
  const config = o.config ?? loadAgentConfig(paths.configFile);
  let identity: AgentIdentity = loadIdentity(paths);
  const enrollment = identity.enrollment;
  const deviceId = config.deviceId ?? enrollment.nodeName;
  const instance = instanceId(paths, enrollment.nodeName);
  const mmiUrl = o.lo ?? enrollment.mmiUrl;
  const started = clock.monotonic();
  // Renewal (below) keeps the SVID current; one that already expired can only be replaced by enrolling again.
  const { notAfter: svidNotAfter } = certValidity(identity.certPem);
  if (svidNotAfter <= clock.now()) {
    log.error(
      { notAfter: new Date(svidNotAfter).toISOString() },
      'the node SVID has expired: the LO refuses this node until it is enrolled again (edgectl agent enroll --force)',
    );
  }

  const store: StateStore = createStateStore({ file: paths.stateFile, desiredDir: paths.desiredDir });
  const outbox: Outbox = createOutbox({
    dir: paths.outboxDir,
    logger: o.logger,
    maxReports: config.outbox.maxReports,
  });
  let lastIdentityEvent = 0;
  /** An MMI client presenting `id` (one TLS context per identity: a renewal makes a new one). */
  const clientFor = (id: AgentIdentity): MmiClient =>
    createMmiClient({
      baseUrl: mmiUrl,
      tls: withVerifiedPeerCache(
        mtlsClientOptions({
          certPem: id.certPem,
          keyPem: id.keyPem,
          anchorsPem: id.anchorsPem,
          now: () => clock.now(),
          onVerify: (r) => {
            if (!r.ok && clock.now() - lastIdentityEvent > 60_000) {
              lastIdentityEvent = clock.now();
              securityEvent(log, 'wrongServerIdentity', {
                lo: mmiUrl,
                reason: r.reason,
                presented: r.spiffeId,
              });
            }
          },
        }),
        clock,
      ),
      timeoutMs: ms(config.poll.requestTimeoutSeconds),
      clock,
      userAgent: `outpost-agent/${o.version}`,
    });
  // Every user of the client goes through this one, so a renewed identity is used by every new request;
  // the previous client finishes its requests in flight and is closed after the request timeout.
  let current = clientFor(identity);
  const retired = new Set<MmiClient>();
  const client: MmiClient = {
    get baseUrl() {
      return current.baseUrl;
    },
    resolve: (p) => current.resolve(p),
    request: (m, p, r) => current.request(m, p, r),
    getManifest: (e, sig) => current.getManifest(e, sig),
    getContent: (u, w, max, sig) => current.getContent(u, w, max, sig),
    putCapabilities: (d, c, sig) => current.putCapabilities(d, c, sig),
    postStatus: (st, sig, at) => current.postStatus(st, sig, at),
    close: () => current.close(),
  };

  const plainHttp = config.registries.plainHttp;
  const isPlainHttp = (host: string) =>
    plainHttp === true ? isLoopbackHost(host) : Array.isArray(plainHttp) && plainHttp.includes(host);
  const authFile = config.registries.authFile;
  const runtimes: RuntimeSet = await createRuntimeSet({
    config,
    workloadsDir: paths.workloadsDir,
    instance,
    logger: o.logger,
    clock,
    // podman reads the same credentials as the agent's own pulls.
    ...(o.env || authFile
      ? { env: { ...(o.env ?? process.env), ...(authFile ? { REGISTRY_AUTH_FILE: authFile } : {}) } }
      : {}),
    ...(o.wasmRunnerPath ? { wasmRunnerPath: o.wasmRunnerPath } : {}),
    plainHttpRegistries: Array.isArray(plainHttp) ? plainHttp : [],
  });

  let registry: RegistryClient | undefined;
  let cache: BlobCache | undefined;
  const originRegistry = async (): Promise<RegistryClient> => {
    if (!registry) {
      const { createRegistryClient } = await import('../../lib/oci/index.js');
      const { authFileCredentials } = await import('./registry-auth.js');
      registry = createRegistryClient({
        ...(authFile ? { credentials: authFileCredentials(authFile) } : {}),
        plainHttp: (host) => isPlainHttp(host),
        forcePlainHttp: Array.isArray(plainHttp) && plainHttp.some((h) => !isLoopbackHost(h)),
        ...(config.registries.caFile ? { ca: fs.readFileSync(config.registries.caFile, 'utf8') } : {}),
        timeoutMs: ms(config.registries.timeoutSeconds),
        userAgent: `outpost-agent/${o.version}`,
        logger: o.logger,
        clock,
      });
    }
    return registry;
  };
  // Artifacts come through the site registry first (ADR 0422), authenticated with the node's SVID.
  const siteRegistryUrl = effectiveSiteRegistry(
    config.registries.siteRegistry,
    enrollment.registryUrl,
    mmiUrl,
  );
  const sitePull = createSiteRegistryPull({
    url: siteRegistryUrl,
    rules: config.registries.mirrors,
    identity: () => identity,
    origin: originRegistry,
    certDir: path.join(paths.identityDir, 'registry-certs'),
    async createSiteClient(url, id) {
      const { createRegistryClient } = await import('../../lib/oci/index.js');
      const host = new URL(url).host;
      return createRegistryClient({
        ca: id.anchorsPem.join(''),
        clientCertificate: { certPem: id.certPem, keyPem: id.keyPem },
        plainHttp: (h) => url.startsWith('http:') && h === host,
        timeoutMs: ms(config.registries.timeoutSeconds),
        userAgent: `outpost-agent/${o.version}`,
        logger: o.logger,
        clock,
      });
    },
  });
  if (siteRegistryUrl)
    log.info({ siteRegistry: siteRegistryUrl }, 'artifacts are pulled through the site registry');
  const planDeps: PlanDeps = {
    registry: originRegistry,
    sources: (ref) => sitePull.sources(ref),
    async cache() {
      if (!cache) {
        const { createBlobCache } = await import('../../lib/oci/index.js');
        cache = createBlobCache({
          dir: paths.cacheDir,
          maxBytes: bytesOf(config.cache.maxBytes),
          clock,
          logger: o.logger,
        });
      }
      return cache;
    },
    parseReference,
    isPlainHttp,
    hasRuntime: (k) => runtimes.get(k) !== undefined,
    componentTimeoutMs: ms(config.deployments.componentTimeoutSeconds),
    logger: o.logger,
  };

  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void, delay: number) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, delay);
    timers.add(t);
    return t;
  };
  const communicating = () => mayCommunicate(config.poll, new Date(clock.now()));

  // ---- status delivery (outbox) ----
  let flushFailures = 0;
  let flushTimer: NodeJS.Timeout | undefined;
  let flushQueued = false;
  /** The LO asked for a pause (Retry-After): until it is over only the timer flushes (ADR 0340). */
  let flushHeld = false;
  const send = async (e: {
    status: Parameters<MmiClient['postStatus']>[0];
    at: number;
  }): Promise<SendOutcome> => {
    try {
      // The outbox time goes along, so a report queued while the LO was away keeps its time (ADR 0169).
      await client.postStatus(e.status, undefined, e.at);
      return { kind: 'sent' };
    } catch (err) {
      if (isProblem(err)) {
        const p = err.data;
        if (p.retryable || p.status === 401 || p.status === 403 || p.status === 408 || p.status === 429) {
          return {
            kind: 'retry',
            reason: err.message,
            ...(p.retryAfterSeconds !== undefined ? { retryAfterMs: p.retryAfterSeconds * 1000 } : {}),
          };
        }
        return { kind: 'drop', reason: err.message };
      }
      if (isPeerIdentityError(err))
        log.debug({ err: shortMessage(err) }, 'status not sent: LO identity refused');
      return { kind: 'retry', reason: shortMessage(err) };
    }
  };
  const flush = () => {
    if (stopped || flushQueued || flushHeld) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      if (stopped || !communicating()) return;
      if (flushTimer) {
        clearTimeout(flushTimer);
        timers.delete(flushTimer);
        flushTimer = undefined;
      }
      outbox
        .flush(send)
        .then((r) => {
          if (r.sent || r.dropped)
            log.debug({ sent: r.sent, dropped: r.dropped }, 'status reports delivered');
          if (!r.stopped) {
            flushFailures = 0;
            return;
          }
          flushFailures++;
          const stoppedBy = r.stopped as Extract<SendOutcome, { kind: 'retry' }>;
          const retryAfter = stoppedBy.retryAfterMs ?? 0;
          // Jitter spreads the backoff; it never shortens the pause the LO asked for.
          const wait = Math.max(
            retryAfter,
            jittered(
              backoffMs(
                flushFailures,
                Math.min(1000, ms(config.poll.intervalSeconds)),
                ms(config.poll.maxBackoffSeconds),
              ),
              config.poll.jitter,
            ),
          );
          log.debug(
            { queued: outbox.size(), retryInMs: wait, reason: stoppedBy.reason },
            'status reports wait for the LO',
          );
          // A plain backoff ends early when a poll shows the LO is back; a Retry-After does not.
          flushHeld = retryAfter > 0;
          flushTimer = later(() => {
            flushHeld = false;
            flush();
          }, wait);
        })
        .catch((err: unknown) => log.warn({ err: shortMessage(err) }, 'outbox flush failed'));
    });
  };

  const reconciler = new Reconciler({
    store,
    runtimes,
    plan: planDeps,
    report(status) {
      outbox.enqueue(status, clock.now());
      flush();
    },
    deviceId,
    config,
    logger: o.logger,
    clock,
    parseYaml: (bytes, dev) => parseApplicationDeployment(bytes, { deviceId: dev }),
  });
  const sync = new DesiredStateSync({ client, store, logger: o.logger, clock });

  // ---- capabilities ----
  /** Sends the capabilities when they changed; returns why they could not be sent. */
  const sendCapabilities = async (reprobe: boolean): Promise<unknown> => {
    if (stopped || !communicating()) return undefined;
    try {
      const probes = reprobe ? await runtimes.probe() : runtimes.lastProbe();
      const caps = buildCapabilities({
        deviceId,
        config,
        facts: probeHost({ home: paths.home, ...(o.hostRoot ? { root: o.hostRoot } : {}) }),
        runtimes: probes,
        agentVersion: o.version,
        ...(o.hostRoot ? { root: o.hostRoot } : {}),
      });
      const digest = capabilitiesDigest(caps);
      if (store.get().capabilities?.digest === digest && reprobe) return undefined;
      await client.putCapabilities(deviceId, caps);
      store.update((s) => (s.capabilities = { digest, sentAt: clock.now() }));
      log.info({ deviceId, digest }, 'capabilities sent');
      return undefined;
    } catch (err) {
      log.warn({ err: shortMessage(err) }, 'capabilities not sent; will try again');
      store.update((s) => delete s.capabilities);
      return err;
    }
  };
  const capsLoop = () => {
    later(
      () => {
        void sendCapabilities(true).finally(() => {
          if (!stopped) capsLoop();
        });
      },
      jittered(ms(config.capabilities.recheckSeconds), config.poll.jitter),
    );
  };

  // ---- polling ----
  let pollFailures = 0;
  let pollTimer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let pollAgain = false;
  let capsSent = false;
  const schedulePoll = (delay: number) => {
    if (stopped) return;
    if (pollTimer) {
      clearTimeout(pollTimer);
      timers.delete(pollTimer);
    }
    pollTimer = later(() => {
      pollTimer = undefined;
      runPoll();
    }, delay);
  };
  const runPoll = () => {
    if (stopped) return;
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = pollOnce()
      .catch((err: unknown) => log.error({ err: shortMessage(err) }, 'poll failed unexpectedly'))
      .finally(() => {
        polling = undefined;
        if (pollAgain) {
          pollAgain = false;
          runPoll();
        }
      });
  };
  const pollOnce = async () => {
    const interval = ms(config.poll.intervalSeconds);
    if (!communicating()) {
      schedulePoll(jittered(interval, config.poll.jitter));
      return;
    }
    let retryAfterMs = 0;
    try {
      if (!capsSent) {
        const refused = await sendCapabilities(false);
        capsSent = store.get().capabilities !== undefined;
        // The LO asked for a pause (429/503 with Retry-After): honour it for the whole loop (ADR 0340).
        if (isProblem(refused) && refused.data.retryAfterSeconds !== undefined) throw refused;
      }
      const r = await sync.poll();
      pollFailures = 0;
      if (r.kind === 'adopted') {
        for (const id of r.changed) reconciler.kick(id);
        void reconciler
          .sweepOrphans()
          .catch((err: unknown) => log.warn({ err: shortMessage(err) }, 'orphan sweep failed'));
      }
      flush();
    } catch (err) {
      pollFailures++;
      if (isProblem(err)) retryAfterMs = (err.data.retryAfterSeconds ?? 0) * 1000;
      if (isPeerIdentityError(err)) {
        // A wrong SPIFFE ID is logged by the SPIFFE check itself; a chain that does not end in our
        // anchors is refused by OpenSSL before that check runs, so it is logged here (once a minute).
        if (
          (err as { code?: string }).code !== 'identity/peer-rejected' &&
          clock.now() - lastIdentityEvent > 60_000
        ) {
          lastIdentityEvent = clock.now();
          securityEvent(log, 'wrongServerIdentity', { lo: mmiUrl, reason: shortMessage(err) });
        }
        log.debug({ err: shortMessage(err) }, 'poll refused: LO identity');
      } else if (isProblem(err) && err.data.type === 'not-authorized') {
        log.error(
          { err: shortMessage(err) },
          'the LO does not authorise this node (revoked?); polling continues',
        );
      } else if (communicating()) {
        (pollFailures === 1 ? log.warn.bind(log) : log.debug.bind(log))(
          { err: shortMessage(err), failures: pollFailures },
          'poll failed',
        );
      }
      store.update((s) => (s.lastError = { at: clock.now(), message: shortMessage(err) }));
      if (!(isProblem(err) && err.data.status < 500)) capsSent = false;
    }
    const wait = pollFailures
      ? backoffMs(pollFailures, interval, Math.max(interval, ms(config.poll.maxBackoffSeconds)))
      : interval;
    // Jitter spreads the polls of a fleet; it never shortens the pause the LO asked for.
    schedulePoll(Math.max(retryAfterMs, jittered(wait, config.poll.jitter)));
  };

  // ---- observing workloads ----
  const observeLoop = () => {
    later(() => {
      void reconciler
        .observe()
        .catch((err: unknown) => log.warn({ err: shortMessage(err) }, 'observing workloads failed'))
        .finally(() => {
          if (!stopped) observeLoop();
        });
    }, ms(config.deployments.observeSeconds));
  };

  // ---- SVID renewal (ADR 0380) ----
  let renewFailures = 0;
  let renewing: Promise<void> | undefined;
  /** When the current SVID is due for renewal (epoch ms). */
  const renewDueAt = () => {
    const v = certValidity(identity.certPem);
    return v.notAfter - config.identity.renewWhenRemaining * (v.notAfter - v.notBefore);
  };
  const scheduleRenewal = (delay: number) => {
    if (stopped) return;
    // Never sleep longer than an hour: timers cannot wait a whole SVID lifetime, and the wall clock may jump.
    later(() => void renewIfDue(), Math.min(Math.max(0, delay), RENEW_CHECK_MAX_MS));
  };
  const renewIfDue = async (): Promise<void> => {
    if (stopped || renewing) return;
    const wait = renewDueAt() - clock.now();
    if (wait > 0) return scheduleRenewal(wait);
    if (!communicating()) return scheduleRenewal(ms(config.poll.intervalSeconds));
    renewing = renewOnce().finally(() => (renewing = undefined));
    return renewing;
  };
  const renewOnce = async (): Promise<void> => {
    const previous = certValidity(identity.certPem);
    try {
      const { renewIdentity } = await import('./renew.js');
      const next = await renewIdentity({ paths, identity, client, clock, logger: o.logger });
      if (stopped) return;
      const old = current;
      identity = next;
      current = clientFor(next);
      retired.add(old);
      later(() => {
        retired.delete(old);
        old.close();
      }, ms(config.poll.requestTimeoutSeconds));
      renewFailures = 0;
      log.info(
        {
          spiffeId: next.enrollment.spiffeId,
          previousNotAfter: new Date(previous.notAfter).toISOString(),
          notAfter: new Date(next.enrollment.notAfter).toISOString(),
        },
        'node SVID renewed; new connections use the new key and certificate',
      );
      scheduleRenewal(renewDueAt() - clock.now());
    } catch (err) {
      if (stopped) return;
      renewFailures++;
      const retryAfter = isProblem(err) ? (err.data.retryAfterSeconds ?? 0) * 1000 : 0;
      const wait = Math.max(
        retryAfter,
        jittered(
          backoffMs(renewFailures, ms(config.identity.retrySeconds), ms(config.identity.maxRetrySeconds)),
          config.poll.jitter,
        ),
      );
      const expired = clock.now() >= previous.notAfter;
      (expired || renewFailures > 3 ? log.error.bind(log) : log.warn.bind(log))(
        {
          err: shortMessage(err),
          failures: renewFailures,
          notAfter: new Date(previous.notAfter).toISOString(),
          retryInMs: wait,
        },
        expired
          ? 'SVID renewal failed and the SVID has expired: the LO will refuse this node until it is enrolled again (edgectl agent enroll --force)'
          : 'SVID renewal failed; the current SVID stays in use and renewal is tried again',
      );
      scheduleRenewal(wait);
    }
  };

  // ---- messaging (optional): "poll now" and presence ----
  let bus: AgentBus | undefined;
  const nats = identity.nats;
  if (nats && config.nats.enabled) {
    void (async () => {
      try {
        const { connectAgentBus } = await import('../../lib/bus/index.js');
        const b = await connectAgentBus({
          url: nats.url,
          seed: nats.seed,
          user: nats.user,
          ...(nats.tls ? { tls: { caFile: paths.anchorsFile } } : {}),
          nodeUid: enrollment.clientId,
          siteId: enrollment.siteId,
          clock,
          logger: o.logger,
          heartbeatInfo: () => ({
            agent: o.version,
            uptimeS: Math.round((clock.monotonic() - started) / 1000),
          }),
        });
        if (stopped) {
          await b.close();
          return;
        }
        bus = b;
        b.onPollNow(() => runPoll());
        log.info({ url: nats.url }, 'connected to the site bus (poll-now notices, presence)');
      } catch (err) {
        log.warn({ err: shortMessage(err) }, 'no site bus; polling only');
      }
    })();
  }

  // ---- start ----
  log.info(
    {
      deviceId,
      clientId: enrollment.clientId,
      lo: mmiUrl,
      instance,
      runtimes: runtimes
        .lastProbe()
        .filter((p) => p.available)
        .map((p) => p.name),
      manifestVersion: store.get().manifestVersion,
    },
    'agent started',
  );
  if (store.get().manifestVersion > 0) {
    await reconciler
      .sweepOrphans()
      .catch((err: unknown) => log.warn({ err: shortMessage(err) }, 'orphan sweep failed'));
  }
  // Converge from the durable desired state right away: this needs no LO.
  reconciler.kickAll();
  runPoll();
  flush();
  observeLoop();
  capsLoop();
  void renewIfDue();
  // On the LAN with its node id (ADR 0464); never holds up the start.
  let advert: Advertisement | undefined;
  void advertiseAgent({
    lo: mmiUrl,
    keyPem: identity.keyPem,
    version: o.version,
    config: config.discovery,
    nodeId: enrollment.clientId,
    siteId: enrollment.siteId,
    logger: o.logger,
  }).then((a) => (stopped ? void a?.stop() : (advert = a)));

  return {
    paths,
    deviceId,
    instance,
    pollNow: () => runPoll(),
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await reconciler.stop();
      await polling?.catch(() => undefined);
      await renewing?.catch(() => undefined);
      for (const c of retired) c.close();
      await advert?.stop().catch(() => undefined);
      await bus?.close().catch(() => undefined);
      client.close();
      await registry?.close().catch(() => undefined);
      await sitePull.close();
      lock.release();
      log.info('agent stopped; workloads keep running');
    },
  };
}
