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
  /**
   * Background work that no answer of the API waits for (a first sample, a sweep), begun once the server
   * listens: the host calls it after the console API answers, so it does not delay the start (ADR 0561).
   * Whatever it begins, `stop` ends or waits for.
   */
  ready?(): void;
  stop?(): Promise<void>;
}
