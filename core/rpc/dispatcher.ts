import type { z } from 'zod';
import type { Logger } from '../../lib/log/index.js';
import type { Clock } from '../../lib/base/index.js';
import type { AuditLog } from '../audit.js';
import { OutpostError, type FieldProblem } from '../../lib/errors/index.js';
import { formatPath } from '../config.js';
import { scrubCredentials, scrubUrlCredentials } from './scrub-credentials.js';
import {
  listMethods,
  type CallContext,
  type ContractDef,
  type HandlersOf,
  type ResolvedMethod,
} from '../../lib/contract/index.js';

/**
 * The in-process binder: validates input against the contract, runs the handler, checks the output,
 * and writes an audit record for every command (state-changing call), whatever the transport.
 * The HTTP and IPC binders are thin adapters over this.
 */
export interface Dispatcher {
  readonly methods: ReadonlyMap<string, ResolvedMethod>;
  call(channel: string, input: unknown, ctx: CallContext): Promise<unknown>;
}

export interface DispatcherOptions<C extends ContractDef> {
  contract: C;
  handlers: HandlersOf<C>;
  audit: AuditLog;
  logger: Logger;
  clock: Clock;
  /** Validate outputs against the contract (default true): a mismatch is a bug and fails loudly. */
  checkOutputs?: boolean;
}

export function createDispatcher<C extends ContractDef>(options: DispatcherOptions<C>): Dispatcher {
  const { contract, audit, logger, clock } = options;
  const checkOutputs = options.checkOutputs ?? true;
  const methods = new Map<string, ResolvedMethod>();
  const impls = new Map<string, (input: unknown, ctx: CallContext) => Promise<unknown>>();
  const handlers = options.handlers as unknown as Record<
    string,
    Record<string, (i: unknown, c: CallContext) => Promise<unknown>>
  >;
  for (const m of listMethods(contract)) {
    const fn = handlers[m.service]?.[m.method];
    if (typeof fn !== 'function') throw new Error(`no handler for ${m.channel}`);
    methods.set(m.channel, m);
    impls.set(m.channel, fn);
  }

  return {
    methods,
    async call(channel, rawInput, ctx) {
      const m = methods.get(channel);
      const impl = impls.get(channel);
      if (!m || !impl) throw new OutpostError('route-not-found', `unknown operation "${channel}"`);
      const started = clock.monotonic();
      const isCommand = m.def.kind === 'command' && !m.def.quiet;
      let parsed: unknown = rawInput;
      let target: string | undefined;
      try {
        if (m.def.adminOnly && !ctx.principal.admin) {
          throw new OutpostError('forbidden', `${channel} requires an administrator`);
        }
        parsed = parseInput(m, rawInput);
        if (isCommand && m.def.auditTarget) target = scrubTarget(m.def.auditTarget(parsed as never));
        ctx.signal.throwIfAborted();
        const out = await impl(parsed, ctx);
        const result = checkOutputs ? checkOutput(m, out) : out;
        if (isCommand) {
          audit.record({
            tenantId: ctx.tenantId,
            actor: ctx.principal.id,
            transport: ctx.transport,
            action: channel,
            target,
            input: auditedInput(parsed, m.def.redact),
            result: 'ok',
            requestId: ctx.requestId,
            durationMs: Math.round(clock.monotonic() - started),
          });
        }
        return result;
      } catch (err) {
        const e = toOutpostError(err);
        if (e.status >= 500) logger.error({ err, channel, requestId: ctx.requestId }, 'operation failed');
        if (isCommand) {
          audit.record({
            tenantId: ctx.tenantId,
            actor: ctx.principal.id,
            transport: ctx.transport,
            action: channel,
            target,
            input: auditedInput(parsed, m.def.redact),
            result: 'error',
            errorCode: e.code,
            errorMessage: scrubUrlCredentials(e.message),
            requestId: ctx.requestId,
            durationMs: Math.round(clock.monotonic() - started),
          });
        }
        throw e;
      }
    },
  };
}

function parseInput(m: ResolvedMethod, raw: unknown): unknown {
  const r = (m.def.input as z.ZodType).safeParse(raw === null ? undefined : raw);
  if (r.success) return r.data;
  const problems: FieldProblem[] = r.error.issues.map((i) => ({
    field: formatPath(i.path) || '(input)',
    message:
      i.code === 'unrecognized_keys'
        ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`
        : i.message,
  }));
  throw new OutpostError(
    'invalid-input',
    `${m.channel}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
    { errors: problems },
  );
}

function checkOutput(m: ResolvedMethod, out: unknown): unknown {
  const r = (m.def.output as z.ZodType).safeParse(out);
  if (r.success) return r.data;
  throw new OutpostError(
    'internal',
    `${m.channel} produced an invalid result: ${r.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`).join('; ')}`,
  );
}

function toOutpostError(err: unknown): OutpostError {
  if (err instanceof OutpostError) return err;
  if (err instanceof Error && err.name === 'AbortError')
    return new OutpostError('cancelled', 'the operation was cancelled', { cause: err });
  return OutpostError.from(err);
}

/** What the audit log keeps of an input: secret fields removed, credentials cut out of URLs. */
function auditedInput(input: unknown, fields: readonly string[] | undefined): unknown {
  return scrubCredentials(redact(input, fields));
}

function scrubTarget(target: string | undefined): string | undefined {
  return target === undefined ? undefined : scrubUrlCredentials(target);
}

function redact(input: unknown, fields: readonly string[] | undefined): unknown {
  if (!fields?.length || !input || typeof input !== 'object') return input;
  const copy: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const f of fields) if (f in copy) copy[f] = '[redacted]';
  return copy;
}
