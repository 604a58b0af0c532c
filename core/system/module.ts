import type { CoreModule, Counts } from '../module.js';
import type { Config } from '../config.js';
import type { Paths, Clock } from '../../lib/base/index.js';
import type { Store } from '../store/db.js';
import type { AuditLog } from '../audit.js';
import { isAdmin, type NatsState, type SystemStatus } from '../../lib/contract/index.js';

export interface SystemModuleDeps {
  config: Config;
  paths: Paths;
  store: Store;
  clock: Clock;
  audit: AuditLog;
  version: string;
  startedAt: number;
  /** Counts contributed by every module. */
  counts(tenantId: string): Counts;
  natsState(): NatsState | null;
  /** The LO's desired-state follower for a tenant (null without an LO). */
  desiredState(tenantId: string): SystemStatus['desiredState'];
}

export function rolesOf(role: Config['role']): ('co' | 'lo')[] {
  return role === 'all' ? ['co', 'lo'] : [role];
}

export function createSystemModule(deps: SystemModuleDeps): CoreModule {
  const countTenants = deps.store.sqlite.prepare('SELECT count(*) AS n FROM tenants');
  return {
    name: 'system',
    counts: () => ({ tenants: (countTenants.get() as { n: number }).n }),
    handlers: {
      system: {
        async status(_input, ctx): Promise<SystemStatus> {
          const now = deps.clock.now();
          // Where the server keeps its data and how many tenants it has are the administrator's business.
          const admin = isAdmin(ctx.principal.roles);
          const counts = deps.counts(ctx.tenantId);
          return {
            product: 'Outpost',
            version: deps.version,
            role: deps.config.role,
            roles: rolesOf(deps.config.role),
            startedAt: deps.startedAt,
            uptimeSeconds: Math.max(0, (now - deps.startedAt) / 1000),
            now,
            home: admin ? deps.paths.home : null,
            tenant: ctx.tenantId,
            site: { id: deps.config.site.id, name: deps.config.site.name },
            database: { file: admin ? deps.store.file : null, schemaVersion: deps.store.schemaVersion() },
            nats: deps.natsState(),
            desiredState: deps.desiredState(ctx.tenantId),
            counts: { ...counts, tenants: admin ? counts.tenants : null },
          };
        },
        async audit(input, ctx) {
          return {
            entries: deps.audit.list(ctx.tenantId, input),
            total: deps.audit.count(ctx.tenantId, input),
          };
        },
      },
    },
  };
}
