import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { parseApplicationDeployment } from '../../lib/margo/index.js';
import {
  BUILTIN_RUNTIMES,
  createRuntimeSet,
  type OcreAdapter,
  type RuntimeDefinition,
} from '../runtimes/index.js';
import { loadAgentConfig, ms, type AgentConfig } from './config.js';
import { ensureDir, writeFileDurable } from './durable.js';
import { agentPaths, type AgentPaths } from './home.js';
import { certValidity, loadIdentity } from './identity.js';
import { acquireAgentLock, type AgentLock } from './lock.js';
import { createMmiSession } from './mmi-session.js';
import type { AgentModule } from './module.js';
import { createCapabilitiesReport } from './modules/capabilities-report.js';
import { createObservation } from './modules/observation.js';
import { createOutboxDelivery, type OutboxDelivery } from './modules/outbox-delivery.js';
import { createPolling, type Polling } from './modules/polling.js';
import { createLanAdvertise } from './modules/lan-advertise.js';
import { createMcuModule } from './modules/mcus.js';
import { createSiteBus } from './modules/site-bus.js';
import { createSvidRenewal } from './modules/svid-renewal.js';
import { createOutbox } from './outbox.js';
import { createPlanDeps } from './plan-deps.js';
import { Reconciler, restartTiming } from './reconciler.js';
import { createStateStore } from './state.js';
import { shortMessage } from './status.js';
import { effectiveSiteRegistry } from './site-registry.js';
import { DesiredStateSync } from './sync.js';

/**
 * The edge node agent (`edgectl agent`, ADR 0260): a Margo WFM client that polls the LO for its desired
 * state, reconciles it through the runtimes, reports status (queued on disk while the LO is away), keeps
 * its capabilities current, watches its workloads and restarts them, and renews its own SVID (ADR 0380).
 * It keeps running workloads running whatever happens to the LO, and after a restart it picks up from
 * `state.json` without restarting healthy workloads.
 *
 * `startAgent()` only composes (ADR 0270): the shared parts (identity, the MMI session, the state, the
 * outbox queue, the runtimes, the reconciler), then the modules agent.yaml enables (`modules.<name>`),
 * each in its own file under agents/node/modules/.
 */

export interface AgentOptions {
  home: string;
  /** Overrides the LO URL from the enrollment (the LO moved, or a port forward). */
  lo?: string;
  logger: Logger;
  clock?: Clock;
  version: string;
  env?: NodeJS.ProcessEnv;
  /** The WASM runner (default: `runtimes.wasm.runner`, else located next to the CLI bundle). */
  wasmRunnerPath?: string;
  /** Root of /sys, /proc and /dev for the hardware probe (tests). */
  hostRoot?: string;
  /** Replaces agent.yaml (tests). */
  config?: AgentConfig;
  /** The registered runtimes (default: agents/runtimes/registry.ts). */
  runtimes?: readonly RuntimeDefinition[];
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
    return await compose(o, paths, lock);
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

/** agent.yaml, with the WASM runner of the options (tests, the desktop app) over the configured one. */
function effectiveConfig(o: AgentOptions, paths: AgentPaths): AgentConfig {
  const config = o.config ?? loadAgentConfig(paths.configFile);
  if (!o.wasmRunnerPath) return config;
  return {
    ...config,
    runtimes: { ...config.runtimes, wasm: { ...config.runtimes.wasm, runner: o.wasmRunnerPath } },
  };
}

async function compose(o: AgentOptions, paths: AgentPaths, lock: AgentLock): Promise<RunningAgent> {
  const clock = o.clock ?? systemClock;
  const log = o.logger.child({ component: 'agent' });
  const config = effectiveConfig(o, paths);
  const definitions = o.runtimes ?? BUILTIN_RUNTIMES;
  const identity = loadIdentity(paths);
  const enrollment = identity.enrollment;
  const deviceId = config.deviceId ?? enrollment.nodeName;
  const instance = instanceId(paths, enrollment.nodeName);
  const started = clock.monotonic();
  const userAgent = `outpost-agent/${o.version}`;
  // Renewal keeps the SVID current; one that already expired can only be replaced by enrolling again.
  const { notAfter } = certValidity(identity.certPem);
  if (notAfter <= clock.now()) {
    log.error(
      { notAfter: new Date(notAfter).toISOString() },
      'the node SVID has expired: the LO refuses this node until it is enrolled again (edgectl agent enroll --force)',
    );
  }

  // ---- the shared parts ----
  const store = createStateStore({ file: paths.stateFile, desiredDir: paths.desiredDir });
  const outbox = createOutbox({
    dir: paths.outboxDir,
    logger: o.logger,
    maxReports: config.outbox.maxReports,
  });
  const session = createMmiSession({
    identity,
    url: o.lo ?? enrollment.mmiUrl,
    requestTimeoutMs: ms(config.poll.requestTimeoutSeconds),
    clock,
    log,
    userAgent,
  });
  const authFile = config.registries.authFile;
  const plainHttp = config.registries.plainHttp;
  const runtimes = await createRuntimeSet({
    definitions,
    config: config.runtimes,
    workloadsDir: paths.workloadsDir,
    instance,
    logger: o.logger,
    clock,
    restart: restartTiming(config),
    // podman reads the same credentials as the agent's own pulls.
    ...(o.env || authFile
      ? { env: { ...(o.env ?? process.env), ...(authFile ? { REGISTRY_AUTH_FILE: authFile } : {}) } }
      : {}),
    plainHttpRegistries: Array.isArray(plainHttp) ? plainHttp : [],
    mcus: config.mcus,
  });
  // The ocre runtime's microcontrollers are this host's child devices (ADR 0441).
  const ocre = runtimes.all().find((a) => a.kind === 'ocre') as OcreAdapter | undefined;
  const plan = createPlanDeps({
    config,
    cacheDir: paths.cacheDir,
    runtimes,
    definitions,
    // Artifacts come through the site registry first (ADR 0422), authenticated with the node's SVID.
    siteRegistry: {
      url: effectiveSiteRegistry(config.registries.siteRegistry, enrollment.registryUrl, session.url),
      identity: () => session.identity(),
      certDir: path.join(paths.identityDir, 'registry-certs'),
    },
    logger: o.logger,
    clock,
    userAgent,
  });
  let delivery: OutboxDelivery | undefined;
  const reconciler = new Reconciler({
    store,
    runtimes,
    plan,
    report(status) {
      outbox.enqueue(status, clock.now());
      delivery?.flush();
    },
    deviceId,
    config,
    logger: o.logger,
    clock,
    parseYaml: (bytes, dev) => parseApplicationDeployment(bytes, { deviceId: dev }),
    definitions,
    hasChild: (id) =>
      ocre !== undefined &&
      id.startsWith(`${deviceId}/`) &&
      ocre.fleet.get(id.slice(deviceId.length + 1)) !== undefined,
  });

  // ---- the modules agent.yaml enables, in the order they start ----
  const on = config.modules;
  const modules: AgentModule[] = [];
  if (on.outbox) {
    delivery = createOutboxDelivery({ outbox, client: session.client, config, clock, logger: o.logger });
  }
  const capabilities = on.capabilities
    ? createCapabilitiesReport({
        client: session.client,
        store,
        runtimes,
        definitions,
        deviceId,
        home: paths.home,
        ...(o.hostRoot ? { hostRoot: o.hostRoot } : {}),
        version: o.version,
        config,
        clock,
        logger: o.logger,
      })
    : undefined;
  let polling: Polling | undefined;
  if (on.polling) {
    polling = createPolling({
      sync: new DesiredStateSync({ client: session.client, store, logger: o.logger, clock }),
      session,
      reconciler,
      store,
      ...(capabilities ? { capabilities } : {}),
      flushReports: () => delivery?.flush(),
      config,
      clock,
      logger: o.logger,
    });
    modules.push(polling);
  }
  if (delivery) modules.push(delivery);
  if (on.observation) {
    modules.push(
      createObservation({
        reconciler,
        store,
        intervalMs: ms(config.deployments.observeSeconds),
        clock,
        logger: o.logger,
      }),
    );
  }
  if (capabilities) modules.push(capabilities);
  if (on.mcus && ocre) {
    modules.push(
      createMcuModule({
        client: session.client,
        adapter: ocre,
        reconciler,
        store,
        ...(capabilities ? { capabilities } : {}),
        deviceId,
        clock,
        logger: o.logger,
      }),
    );
  }
  if (on.renewal) modules.push(createSvidRenewal({ session, paths, config, clock, logger: o.logger }));
  if (on.bus && config.nats.enabled && identity.nats) {
    modules.push(
      createSiteBus({
        nats: identity.nats,
        enrollment,
        anchorsFile: paths.anchorsFile,
        version: o.version,
        started,
        onPollNow: () => polling?.pollNow(),
        async onLogsRequest(request, maxBytes) {
          const { answerLogsRequest } = await import('./workload-logs.js');
          return answerLogsRequest(paths, request, {
            podman: config.runtimes.container.podman,
            now: () => clock.now(),
            maxBytes,
          });
        },
        clock,
        logger: o.logger,
      }),
    );
  }
  if (on.advertise && config.discovery.advertise) {
    modules.push(
      createLanAdvertise({
        lo: session.url,
        keyPem: identity.keyPem,
        nodeId: enrollment.clientId,
        siteId: enrollment.siteId,
        version: o.version,
        config: config.discovery,
        logger: o.logger,
      }),
    );
  }

  // ---- start ----
  log.info(
    {
      deviceId,
      clientId: enrollment.clientId,
      lo: session.url,
      instance,
      runtimes: runtimes
        .lastProbe()
        .filter((p) => p.available)
        .map((p) => p.name),
      modules: modules.map((m) => m.name),
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
  for (const m of modules) await m.start();

  let stopped = false;
  return {
    paths,
    deviceId,
    instance,
    pollNow: () => polling?.pollNow(),
    async stop() {
      if (stopped) return;
      stopped = true;
      // Every module ends its loops at once (in reverse order), the reconciler cancels its tasks, then
      // what was in flight finishes.
      const ending = [...modules].reverse().map((m) => m.stop());
      await reconciler.stop();
      await Promise.allSettled(ending);
      session.close();
      await plan.close();
      lock.release();
      log.info('agent stopped; workloads keep running');
    },
  };
}
