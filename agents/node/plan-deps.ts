import fs from 'node:fs';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import { isLoopbackHost, parseReference, type BlobCache, type RegistryClient } from '../../lib/oci/index.js';
import type { RuntimeDefinition, RuntimeSet } from '../runtimes/index.js';
import { bytesOf, ms, type AgentConfig } from './config.js';
import type { PlanDeps } from './plan.js';

/**
 * What planning a deployment needs: the registry client and the blob cache, both made on the first pull
 * (they load undici: ADR 0269), the plain-HTTP rule of agent.yaml, and which runtimes are usable now.
 */
export function createPlanDeps(o: {
  config: AgentConfig;
  cacheDir: string;
  runtimes: RuntimeSet;
  definitions?: readonly RuntimeDefinition[];
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
  return {
    async registry() {
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
          logger,
          clock,
        });
      }
      return registry;
    },
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
    },
  };
}
