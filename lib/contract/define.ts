import type { z } from 'zod';
import type { Role } from './roles.js';

/**
 * The typed contract: each service is declared once (inputs, outputs, errors, events) and bound to
 * HTTP, Electron IPC and in-process calls by generic binders. Channel names are derived
 * (`<service>.<method>`), never typed by hand.
 *
 * This folder must stay free of Node, Electron and React imports: the renderer imports it.
 */

export type MethodKind = 'query' | 'command';

export interface MethodDef<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  /** A query reads; a command changes state and is recorded in the audit log. */
  readonly kind: MethodKind;
  readonly summary: string;
  readonly input: I;
  readonly output: O;
  /** Error codes this method may raise besides the generic ones (documentation and UI switches). */
  readonly errors?: readonly string[];
  /** For commands: a function naming the record the call acts on, for the audit log. */
  readonly auditTarget?: (input: z.infer<I>) => string | undefined;
  /** Input fields never written to the audit log (secrets). */
  readonly redact?: readonly string[];
  /**
   * The roles that may call it (any one of them; ADR 0520). Required, so no method is left without a
   * rule: HTTP, IPC and in-process calls are all checked against it, and so is the role matrix test.
   */
  readonly roles: readonly Role[];
  /**
   * A command that is not audited on its own: a step of a transfer (an upload chunk) whose enclosing
   * action (the upload's start, the import) is audited.
   */
  readonly quiet?: boolean;
  /**
   * For commands: the result holds a secret shown once (a token, a private key). It is never kept for
   * an idempotent retry: a retry after a lost answer is told the call was made, not the secret.
   */
  readonly secretResult?: boolean;
  /**
   * For commands: how to answer a retry of the same Idempotency-Key whose first answer was lost with
   * the process (the change committed, the answer never written): a query of the current state of the
   * record the call made or acted on. `ref` is what the handler named with `ctx.noteResultRef`.
   */
  readonly replay?: (
    input: z.infer<I>,
    ref: string | undefined,
  ) => { channel: string; input: unknown } | undefined;
}

export function query<I extends z.ZodType, O extends z.ZodType>(
  def: Omit<MethodDef<I, O>, 'kind'>,
): MethodDef<I, O> {
  return { ...def, kind: 'query' };
}

export function command<I extends z.ZodType, O extends z.ZodType>(
  def: Omit<MethodDef<I, O>, 'kind'>,
): MethodDef<I, O> {
  return { ...def, kind: 'command' };
}

export interface ServiceDef<
  N extends string = string,
  M extends Record<string, MethodDef> = Record<string, MethodDef>,
> {
  readonly name: N;
  readonly methods: M;
}

export function defineService<N extends string, M extends Record<string, MethodDef>>(
  name: N,
  methods: M,
): ServiceDef<N, M> {
  return { name, methods };
}

/** A contract is a record of services keyed by their names. */
export type ContractDef = Record<string, ServiceDef>;

/** Events pushed to consoles (SSE over HTTP, a channel over IPC, a callback in-process). */
export type EventsDef = Record<string, z.ZodType>;

export type Channel<C extends ContractDef> = {
  [S in keyof C & string]: `${S}.${keyof C[S]['methods'] & string}`;
}[keyof C & string];

export function channelOf(service: string, method: string): string {
  return `${service}.${method}`;
}

export interface ResolvedMethod {
  readonly channel: string;
  readonly service: string;
  readonly method: string;
  readonly def: MethodDef;
}

/** Flattens a contract into its channels. */
export function listMethods(contract: ContractDef): ResolvedMethod[] {
  const out: ResolvedMethod[] = [];
  for (const [service, svc] of Object.entries(contract)) {
    for (const [method, def] of Object.entries(svc.methods)) {
      out.push({ channel: channelOf(service, method), service, method, def });
    }
  }
  return out;
}

// ---- Types derived from a contract ----

export type InputOf<M> = M extends MethodDef<infer I, z.ZodType> ? z.input<I> : never;
export type ParsedInputOf<M> = M extends MethodDef<infer I, z.ZodType> ? z.output<I> : never;
export type OutputOf<M> = M extends MethodDef<z.ZodType, infer O> ? z.output<O> : never;

/** What a client sees: `client.system.status(input) -> Promise<output>`. */
export type ClientOf<C extends ContractDef> = {
  [S in keyof C]: {
    [K in keyof C[S]['methods']]: (
      input?: InputOf<C[S]['methods'][K]>,
      options?: CallOptions,
    ) => Promise<OutputOf<C[S]['methods'][K]>>;
  };
};

export interface CallOptions {
  signal?: AbortSignal;
  /** Act on another tenant (admin principals only). */
  tenant?: string;
  /**
   * For commands: a key unique to this one intended change (sent as the `Idempotency-Key` header
   * over HTTP). A retry with the same key returns the first call's answer instead of changing
   * anything again. Up to 200 printable ASCII characters.
   */
  idempotencyKey?: string;
}

/** The principal a call runs as. */
export interface Principal {
  /** Stable id for the audit log, e.g. `token:ab12`, `desktop:alice`, `node:site/n1`. */
  readonly id: string;
  readonly name: string;
  readonly tenantId: string;
  /** Tenant roles in `tenantId`, or `admin` (server-wide). */
  readonly roles: readonly Role[];
  /** The API token it authenticated with (absent for the per-run administrator and in-process callers). */
  readonly tokenId?: string | undefined;
  /** When its token expires (ms since epoch); null or absent: never. */
  readonly expiresAt?: number | null | undefined;
}

export type Transport = 'http' | 'ipc' | 'inproc';

/**
 * Where a call came from, as the audit log records it (ADR 0232): the console (browser or desktop),
 * edgectl, an edge agent (the Margo interface), an imported bundle, or any other API client.
 */
export const AUDIT_SOURCES = ['console', 'cli', 'agent', 'bundle', 'api'] as const;
export type AuditSource = (typeof AUDIT_SOURCES)[number];

export interface CallContext {
  readonly principal: Principal;
  /** The tenant this call acts on (the principal's own unless an admin chose another). */
  readonly tenantId: string;
  readonly transport: Transport;
  /** Where the call came from (the client names itself over HTTP; IPC is the console). */
  readonly source: AuditSource;
  readonly requestId: string;
  readonly signal: AbortSignal;
  /** The caller's Idempotency-Key for this call, if it sent one. */
  readonly idempotencyKey?: string | undefined;
  /**
   * Names the record a command made when only the handler knows it (a new deployment's id), before the
   * transaction that commits it: kept with the idempotency key to answer a retry (see MethodDef.replay).
   */
  readonly noteResultRef?: (ref: string) => void;
}

/** What a server implements: one async function per method. */
export type HandlersOf<C extends ContractDef> = {
  [S in keyof C]: {
    [K in keyof C[S]['methods']]: (
      input: ParsedInputOf<C[S]['methods'][K]>,
      ctx: CallContext,
    ) => Promise<OutputOf<C[S]['methods'][K]>>;
  };
};

export type EventPayloads<E extends EventsDef> = { [K in keyof E]: z.output<E[K]> };

export interface EventEnvelope<
  E extends EventsDef = EventsDef,
  K extends keyof E & string = keyof E & string,
> {
  readonly type: K;
  readonly tenantId: string | null;
  readonly at: number;
  readonly data: EventPayloads<E>[K];
}
