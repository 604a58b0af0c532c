import fs from 'node:fs';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { isLoopbackHost, parseReference, type BlobCache, type RegistryClient } from '../../lib/oci/index.js';
import type { RuntimeDefinition, RuntimeSet } from '../runtimes/index.js';
import { bytesOf, ms, type AgentConfig } from './config.js';
import type { AgentIdentity } from './identity.js';
import type { PlanDeps } from './plan.js';
import { createSiteRegistryPull } from './site-registry.js';

/**
 * What planning a deployment needs: where each artifact is looked up (the site registry first, with the
 * mirror rules of agent.yaml, the origin only for what the site lacks or when it cannot be reached: ADR
 * 0422), the registry clients and the blob cache, all made on the first pull (they load undici: ADR
 * 0269), the plain-HTTP rule of agent.yaml, and which runtimes are usable now.
 */
export function createPlanDeps(o: {
  config: AgentConfig;
  cacheDir: string;
  runtimes: RuntimeSet;
  definitions?: readonly RuntimeDefinition[];
  /** The site registry; absent or without a URL: every artifact comes from its origin. */
  siteRegistry?: {
    /** Its URL (`effectiveSiteRegistry`), or undefined for none. */
    url: string | undefined;
    /** The node's current identity (the client presents the renewed SVID after a renewal). */
    identity(): AgentIdentity;
    /** podman's `--cert-dir` for pulling images from it. */
    certDir: string;
  };
  logger: Logger;
  clock: Clock;
  userAgent: string;
}): PlanDeps & { close(): Promise<void> } {
  const { config, logger, clock } = o;
  const plainHttp = config.registries.plainHttp;
  const isPlainHttp = (host: string) =>
    plainHttp === true ? isLoopbackHost(host) : Array.isArray(plainHttp) && plainHttp.includes(host);
  const authFile = config.registries.authFile;
  let registry: RegistryClient | undefined;
  let cache: BlobCache | undefined;
  /** The client for every registry but the site's (credentials from the auth file, no client certificate). */
  const origin = async (): Promise<RegistryClient> => {
    if (!registry) {
      const { createRegistryClient } = await import('../../lib/oci/index.js');
      const { authFileCredentials } = await import('./registry-auth.js');
      registry = createRegistryClient({
        ...(authFile ? { credentials: authFileCredentials(authFile) } : {}),
        plainHttp: (host) => isPlainHttp(host),
        forcePlainHttp: Array.isArray(plainHttp) && plainHttp.some((h) => !isLoopbackHost(h)),
        ...(config.registries.caFile ? { ca: fs.readFileSync(config.registries.caFile, 'utf8') } : {}),
        timeoutMs: ms(config.registries.timeoutSeconds),
        userAgent: o.userAgent,
        // node:http, not undici: nothing of the pull stays in the agent's memory (ADR 0543).
        http: 'node',
        logger,
        clock,
      });
    }
    return registry;
  };
  const site = o.siteRegistry;
  const sitePull = createSiteRegistryPull({
    url: site?.url,
    rules: config.registries.mirrors,
    // Called only when there is a site registry (a URL).
    identity: () => site!.identity(),
    origin,
    certDir: site?.certDir ?? '',
    async createSiteClient(url, id) {
      const { createRegistryClient } = await import('../../lib/oci/index.js');
      const host = new URL(url).host;
      return createRegistryClient({
        ca: id.anchorsPem.join(''),
        clientCertificate: { certPem: id.certPem, keyPem: id.keyPem },
        plainHttp: (h) => url.startsWith('http:') && h === host,
        timeoutMs: ms(config.registries.timeoutSeconds),
        userAgent: o.userAgent,
        http: 'node',
        logger,
        clock,
      });
    },
  });
  if (site?.url)
    logger
      .child({ component: 'agent' })
      .info({ siteRegistry: site.url }, 'artifacts are pulled through the site registry');
  return {
    registry: origin,
    sources: (ref) => sitePull.sources(ref),
    async cache() {
      if (!cache) {
        const { createBlobCache } = await import('../../lib/oci/index.js');
        cache = createBlobCache({
          dir: o.cacheDir,
          maxBytes: bytesOf(config.cache.maxBytes),
          clock,
          logger,
        });
      }
      return cache;
    },
    parseReference,
    isPlainHttp,
    hasRuntime: (k) => o.runtimes.get(k) !== undefined,
    componentTimeoutMs: ms(config.deployments.componentTimeoutSeconds),
    ...(o.definitions ? { runtimes: o.definitions } : {}),
    logger,
    async close() {
      await registry?.close().catch(() => undefined);
      await sitePull.close();
    },
  };
}
