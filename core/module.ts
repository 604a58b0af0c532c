import type { HandlersOf, Contract, NatsState, SystemStatus } from '../lib/contract/index.js';

export type Counts = SystemStatus['counts'];

/**
 * A feature module of the core (catalog, fleet, deployments, messaging, ...). createCore assembles
 * them; each implements some services of the contract and may run background work.
 */
export interface CoreModule {
  readonly name: string;
  readonly handlers?: Partial<{ [S in keyof Contract]: Partial<HandlersOf<Contract>[S]> }>;
  /** Record counts for system.status, scoped to a tenant. */
  counts?(tenantId: string): Partial<Counts>;
  /** The embedded NATS server's state (only the messaging module implements it). */
  natsState?(): NatsState;
  start?(): Promise<void>;
  stop?(): Promise<void>;
}
