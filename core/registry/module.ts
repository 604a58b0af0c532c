import os from 'node:os';
import path from 'node:path';
import type { Config } from '../config.js';
import type { Paths, Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { Store } from '../store/db.js';
import type { CoreModule } from '../module.js';
import type { SiteIdentity } from '../lo/identity-store.js';
import { registryError } from './errors.js';
import { createRegistryStore, type RegistryStore } from './store.js';
import { createDistributionHandler } from './http.js';
import { createRegistryAuth, type CertClient, type TokenPrincipal } from './auth.js';
import { listenRegistry, type RegistryListeners } from './server.js';
import { deploymentRoots } from './deployment-roots.js';
import type { GcReport } from './gc.js';

/**
 * The site registry of an LO (roles lo and all; ADR 0420-0422): the content-addressed store under
 * `<home>/registry`, the OCI Distribution API over HTTPS (site CA) and on loopback over plain HTTP, and
 * garbage collection rooted in tags and deployments. The bundle import writes through `requireStore()`.
 */
export interface SiteRegistry {
  readonly enabled: boolean;
  /** HTTPS URL for server.json and tools on this machine (a wildcard listener is reached at 127.0.0.1). */
  url(): string | null;
  loopbackUrl(): string | null;
  /** The URL agents are told at enrollment (registry.publicUrl, else the listener's; a wildcard host is left for the agent to replace with the LO's). */
  advertisedUrl(): string | null;
  /** The store; `registry/disabled` when this server runs no site registry. */
  requireStore(): RegistryStore;
  /** Garbage collection (also after a bundle import). */
  gc(options: { dryRun: boolean; graceSeconds?: number }): Promise<GcReport>;
}

export interface RegistryModuleDeps {
  config: Config;
  paths: Paths;
  store: Store;
  clock: Clock;
  logger: Logger;
  identity: SiteIdentity;
  /** The principal of a console API token (core.auth). */
  token(token: string): TokenPrincipal | null;
  /** The MMI's accepted-client policy, for node certificates. */
  authorizeClient(client: CertClient): { ok: true } | { ok: false; reason: string };
}

const TLS_CHECK_MS = 6 * 3600_000;
const WILDCARD = new Set(['0.0.0.0', '::', '']);

function hostOf(url: string): string {
  const u = new URL(url);
  return u.hostname.replace(/^\[|\]$/g, '');
}

export function createRegistryModule(deps: RegistryModuleDeps): CoreModule & { registry: SiteRegistry } {
  const { config, clock } = deps;
  const rc = config.registry;
  const log = deps.logger.child({ component: 'registry' });
  const enabled = rc.enabled && config.role !== 'co';
  const root = path.join(deps.paths.home, 'registry');
  const store = enabled
    ? createRegistryStore({
        root,
        clock,
        logger: log,
        limits: {
          maxBlobBytes: rc.maxBlobBytes,
          maxManifestBytes: rc.maxManifestBytes,
          quotaBytes: rc.quotaBytes,
          reserveFreeBytes: rc.reserveFreeBytes,
        },
      })
    : undefined;
  let listeners: RegistryListeners | undefined;
  let timer: NodeJS.Timeout | undefined;

  const wildcard = WILDCARD.has(rc.host);
  const tlsHosts = (): string[] => {
    const hosts = ['localhost', '127.0.0.1', '::1', os.hostname(), ...rc.tlsHosts];
    if (!wildcard) hosts.push(rc.host);
    if (rc.publicUrl) hosts.push(hostOf(rc.publicUrl));
    if (wildcard) {
      // Listening everywhere: nodes may come by any of this machine's addresses.
      for (const list of Object.values(os.networkInterfaces()))
        for (const a of list ?? []) if (!a.internal && !a.address.startsWith('fe80')) hosts.push(a.address);
    }
    return hosts;
  };

  let anchors: { pem: string; list: readonly string[] } | undefined;
  const anchorsPem = (): readonly string[] => {
    const pem = deps.identity.ca()?.certPem ?? '';
    if (anchors?.pem !== pem) anchors = { pem, list: pem ? [pem] : [] };
    return anchors.list;
  };
  const tls = async () => {
    const t = await deps.identity.serverTls('registry', clock.now(), tlsHosts());
    return { certPem: t.certPem + t.caPem, keyPem: t.keyPem, anchorsPem: anchorsPem() };
  };

  const ownHosts = (): Set<string> => {
    const out = new Set<string>();
    const port = listeners ? new URL(listeners.url).port : String(rc.port);
    for (const h of tlsHosts()) out.add(`${h.includes(':') ? `[${h}]` : h}:${port}`.toLowerCase());
    if (listeners?.loopbackUrl) {
      const lp = new URL(listeners.loopbackUrl).port;
      for (const h of ['127.0.0.1', 'localhost']) out.add(`${h}:${lp}`);
    }
    if (rc.publicUrl) out.add(new URL(rc.publicUrl).host.toLowerCase());
    return out;
  };

  const requireStore = (): RegistryStore => {
    if (!store)
      throw registryError(
        'registry/disabled',
        config.role === 'co'
          ? 'this server runs with --role co: the site registry runs on LOs (roles lo and all)'
          : 'the site registry is disabled (registry.enabled: false)',
      );
    return store;
  };

  const registry: SiteRegistry = {
    enabled,
    url() {
      if (!listeners) return null;
      if (!wildcard || rc.publicUrl) return listeners.url;
      const u = new URL(listeners.url);
      u.hostname = rc.host === '::' ? '[::1]' : '127.0.0.1';
      return u.origin;
    },
    loopbackUrl: () => listeners?.loopbackUrl ?? null,
    advertisedUrl: () => listeners?.url ?? null,
    requireStore,
    async gc(options) {
      const s = requireStore();
      return s.gc({
        dryRun: options.dryRun,
        graceMs: (options.graceSeconds ?? rc.gcGraceSeconds) * 1000,
        roots: deploymentRoots(deps.store, ownHosts()),
      });
    },
  };

  return {
    name: 'registry',
    registry,
    async start() {
      if (!store) return;
      await store.open();
      if (!deps.identity.ca()) await deps.identity.initCa({ force: false, now: clock.now() });
      const authorize = createRegistryAuth({
        token: deps.token,
        clients: {
          trustDomain: deps.identity.trustDomain,
          wfmId: deps.identity.wfmId,
          anchorsPem,
          authorize: deps.authorizeClient,
        },
        anonymousPull: rc.anonymousPull,
        clock,
        logger: log,
      });
      const handle = createDistributionHandler({
        store,
        authorize,
        logger: log,
        clock,
        maxManifestBytes: rc.maxManifestBytes,
      });
      listeners = await listenRegistry({
        handle,
        tls: await tls(),
        host: rc.host,
        port: rc.port,
        loopbackPort: rc.loopbackPort,
        publicUrl: rc.publicUrl,
        logger: log,
      });
      // Renewal (a third of the life left), a replaced site CA, a new address: checked a few times a day.
      timer = setInterval(() => {
        tls()
          .then((t) => listeners?.setTls(t))
          .catch((err: unknown) =>
            log.warn({ err: (err as Error).message }, 'registry TLS certificate not renewed'),
          );
      }, TLS_CHECK_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await listeners?.close();
      listeners = undefined;
    },
    handlers: {
      registry: {
        async status() {
          if (!store)
            return {
              enabled: false,
              url: null,
              loopbackUrl: null,
              usedBytes: 0,
              quotaBytes: null,
              freeBytes: 0,
              repositories: [],
            };
          const u = store.usage();
          return {
            enabled: true,
            url: registry.url(),
            loopbackUrl: registry.loopbackUrl(),
            usedBytes: u.usedBytes,
            quotaBytes: u.quotaBytes,
            freeBytes: u.freeBytes,
            repositories: await store.repositories(),
          };
        },
        async gc(input) {
          return registry.gc({
            dryRun: input.dryRun,
            ...(input.graceSeconds === undefined ? {} : { graceSeconds: input.graceSeconds }),
          });
        },
      },
    },
  };
}
