import type { CallOptions, ClientOf, ContractDef, EventEnvelope, EventsDef } from './define.js';

/**
 * A client transport moves one call to a server and back. HTTP (CLI, browser), Electron IPC
 * (desktop renderer) and in-process (tests, the desktop main) all implement it.
 * Failures are thrown as OutpostError (rebuilt from problem+json).
 */
export interface ClientTransport {
  invoke(channel: string, input: unknown, options?: CallOptions): Promise<unknown>;
  /** Live events; returns an unsubscribe function. Optional (the CLI does not need it). */
  subscribe?(onEvent: (event: EventEnvelope) => void, onError?: (err: unknown) => void): () => void;
}

/** Builds `client.<service>.<method>(input)` from the contract, so names are never typed by hand. */
export function createClient<C extends ContractDef>(contract: C, transport: ClientTransport): ClientOf<C> {
  const client: Record<
    string,
    Record<string, (input?: unknown, options?: CallOptions) => Promise<unknown>>
  > = {};
  for (const [service, svc] of Object.entries(contract)) {
    const methods: Record<string, (input?: unknown, options?: CallOptions) => Promise<unknown>> = {};
    for (const method of Object.keys(svc.methods)) {
      const channel = `${service}.${method}`;
      methods[method] = (input?: unknown, options?: CallOptions) =>
        transport.invoke(channel, input ?? {}, options);
    }
    client[service] = methods;
  }
  return client as ClientOf<C>;
}

export type EventHandler<E extends EventsDef> = (event: EventEnvelope<E>) => void;
