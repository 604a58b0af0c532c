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

/**
 * The same client without the contract at run time: `client.<service>.<method>(input)` calls the channel
 * `<service>.<method>`, whatever the names (the types still come from the contract, so a misspelt one does
 * not compile). For callers that only send calls, such as edgectl: it need not load the contract's schemas
 * (all of zod) to start. `defaults` apply to every call (a tenant chosen once, as `--tenant` does).
 */
export function createChannelClient<C extends ContractDef>(
  transport: ClientTransport,
  defaults: CallOptions = {},
): ClientOf<C> {
  const services = new Map<string, Record<string, unknown>>();
  const serviceOf = (service: string) =>
    new Proxy({} as Record<string, unknown>, {
      get(methods, method) {
        if (typeof method !== 'string') return undefined;
        return (methods[method] ??= (input?: unknown, options?: CallOptions) =>
          transport.invoke(`${service}.${method}`, input ?? {}, { ...options, ...defaults }));
      },
    });
  return new Proxy({} as ClientOf<C>, {
    get(_, service) {
      if (typeof service !== 'string') return undefined;
      let s = services.get(service);
      if (!s) services.set(service, (s = serviceOf(service)));
      return s;
    },
  });
}

export type EventHandler<E extends EventsDef> = (event: EventEnvelope<E>) => void;
