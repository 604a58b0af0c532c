import type { z } from 'zod';
import type { Logger } from '../../lib/log/index.js';
import type { Clock } from '../../lib/base/index.js';
import type { AuditLog } from '../audit.js';
import { OutpostError, type FieldProblem, diskFullCause } from '../../lib/errors/index.js';
import crypto from 'node:crypto';
import type { CallJournal, PendingCall, StoredCall } from './call-journal.js';
import { formatPath } from '../config.js';
import { scrubCredentials, scrubUrlCredentials } from './scrub-credentials.js';
import { capProblems, inputShapeProblem } from './input-limits.js';
import {
  accessDenied,
  decideAccess,
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
  /** Writes each command's audit row in the transaction of its change, and keeps idempotency keys. */
  journal: CallJournal;
  logger: Logger;
  clock: Clock;
  /** Validate outputs against the contract (default true): a mismatch is a bug and fails loudly. */
  checkOutputs?: boolean;
}

/** Answers larger than this are not kept with their key (a retry gets the record's current state). */
const MAX_KEPT_RESULT_CHARS = 1024 * 1024;
const MAX_AUDIT_MESSAGE_CHARS = 2000;
const KEY_FORMAT = /^[\x21-\x7e]{1,200}$/;

export function createDispatcher<C extends ContractDef>(options: DispatcherOptions<C>): Dispatcher {
  const { contract, audit, journal, logger, clock } = options;
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
  /** Commands running with an Idempotency-Key: a retry that arrives meanwhile waits for the first. */
  const running = new Map<string, { digest: string; actor: string; answer: Promise<unknown> }>();

  async function query(m: ResolvedMethod, rawInput: unknown, ctx: CallContext): Promise<unknown> {
    const impl = impls.get(m.channel)!;
    try {
      // The method's roles (declared in the contract) decide, whatever the transport (ADR 0520).
      const access = decideAccess(m.channel, m.def, ctx.principal.roles);
      if (!access.allowed) throw accessDenied(m.channel, access, ctx.principal.roles);
      const parsed = parseInput(m, rawInput);
      ctx.signal.throwIfAborted();
      const out = await impl(parsed, ctx);
      return checkOutputs ? checkOutput(m, out) : out;
    } catch (err) {
      const e = toOutpostError(err);
      if (e.status >= 500)
        logger.error({ err, channel: m.channel, requestId: ctx.requestId }, 'operation failed');
      throw e;
    }
  }

  /** A retry of a key whose call committed: its kept answer, or the current state of what it made. */
  async function answerRetry(
    m: ResolvedMethod,
    prior: StoredCall,
    parsed: unknown,
    ctx: CallContext,
  ): Promise<unknown> {
    if (prior.result !== null) return JSON.parse(prior.result) as unknown;
    const how = m.def.replay?.(parsed as never, prior.ref ?? undefined);
    if (how) {
      const q = methods.get(how.channel);
      if (q?.def.kind === 'query') return query(q, how.input, { ...ctx, idempotencyKey: undefined });
    }
    throw new OutpostError(
      'idempotency-in-doubt',
      m.def.secretResult
        ? `${m.channel} with this Idempotency-Key was done${prior.ref ? ` (${prior.ref})` : ''}; its answer held a secret, which is not kept`
        : `${m.channel} with this Idempotency-Key was committed${prior.ref ? ` (${prior.ref})` : ''} but its answer was lost; look at the record before doing it again`,
      { data: { ref: prior.ref, auditSeq: prior.auditSeq } },
    );
  }

  async function command(m: ResolvedMethod, rawInput: unknown, ctx: CallContext): Promise<unknown> {
    const impl = impls.get(m.channel)!;
    const startedAt = clock.monotonic();
    let parsed: unknown = rawInput;
    let target: string | undefined;
    let pending: PendingCall | undefined;
    try {
      // The method's roles (declared in the contract) decide, whatever the transport (ADR 0520).
      const access = decideAccess(m.channel, m.def, ctx.principal.roles);
      if (!access.allowed) throw accessDenied(m.channel, access, ctx.principal.roles);
      const shape = shapeError(m, rawInput);
      if (shape) {
        // Too deep or too wide to walk: the audit keeps why it was refused, not the input.
        parsed = { refused: shape.errors?.[0] };
        throw shape;
      }
      parsed = parseShaped(m, rawInput);
      if (m.def.auditTarget) target = scrubTarget(m.def.auditTarget(parsed as never));
      const key = ctx.idempotencyKey;
      let idempotency: PendingCall['idempotency'];
      if (key !== undefined) {
        if (!KEY_FORMAT.test(key))
          throw new OutpostError(
            'invalid-input',
            'the Idempotency-Key must be 1 to 200 printable ASCII characters without spaces',
            { errors: [{ field: 'Idempotency-Key', message: 'not a valid key' }] },
          );
        idempotency = { key, inputDigest: digestOf(m.channel, parsed) };
        const reused = (actor: string, action: string, digest: string) =>
          actor !== ctx.principal.id || action !== m.channel || digest !== idempotency!.inputDigest;
        const prior = journal.find(ctx.tenantId, key);
        if (prior) {
          if (reused(prior.actor, prior.action, prior.inputDigest)) throw keyReused(m.channel);
          logger.info({ channel: m.channel, key, requestId: ctx.requestId }, 'answered a retry from its key');
          return await answerRetry(m, prior, parsed, ctx);
        }
        const first = running.get(`${ctx.tenantId}\n${key}`);
        if (first) {
          if (reused(first.actor, m.channel, first.digest)) throw keyReused(m.channel);
          return await first.answer;
        }
      }
      ctx.signal.throwIfAborted();
      const call: PendingCall = {
        audit: {
          tenantId: ctx.tenantId,
          actor: ctx.principal.id,
          transport: ctx.transport,
          source: ctx.source,
          action: m.channel,
          target,
          input: auditedInput(parsed, m.def.redact),
          requestId: ctx.requestId,
        },
        startedAt,
        idempotency,
        committed: false,
        open: true,
      };
      pending = call;
      const handlerCtx: CallContext = {
        ...ctx,
        noteResultRef: (ref) => {
          call.ref = ref;
        },
      };
      const answer = (async () => {
        let out: unknown;
        try {
          out = await journal.run(call, () => impl(parsed, handlerCtx));
        } catch (err) {
          if (!call.committed) throw err;
          // The change is in (with its audit row); what failed came after it. Answer with the state of
          // what was made when the contract says how, instead of reporting a committed change as failed
          // (a retry waiting for this call gets the same answer).
          call.open = false;
          logger.error(
            { err, channel: m.channel, requestId: ctx.requestId },
            'failed after its change was committed',
          );
          const how = m.def.replay?.(parsed as never, call.ref);
          const q = how && methods.get(how.channel);
          if (how && q?.def.kind === 'query')
            return query(q, how.input, { ...ctx, idempotencyKey: undefined });
          throw err;
        }
        const result = checkOutputs ? checkOutput(m, out) : out;
        let keep: string | null = null;
        if (idempotency && !m.def.secretResult) {
          keep = JSON.stringify(result ?? null);
          if (keep.length > MAX_KEPT_RESULT_CHARS) keep = null;
        }
        journal.finish(call, keep);
        return result;
      })();
      const slot = idempotency ? `${ctx.tenantId}\n${idempotency.key}` : undefined;
      if (slot) running.set(slot, { digest: idempotency!.inputDigest, actor: ctx.principal.id, answer });
      try {
        return await answer;
      } finally {
        if (slot) running.delete(slot);
      }
    } catch (err) {
      const e = toOutpostError(err);
      // Committed, then failed, with no query to answer from: the audit row of the change stands.
      if (pending?.committed) throw e;
      if (pending) pending.open = false;
      if (e.status >= 500)
        logger.error({ err, channel: m.channel, requestId: ctx.requestId }, 'operation failed');
      try {
        audit.record({
          tenantId: ctx.tenantId,
          actor: ctx.principal.id,
          transport: ctx.transport,
          source: ctx.source,
          action: m.channel,
          target,
          input: auditedInput(parsed, m.def.redact),
          result: 'error',
          errorCode: e.code,
          errorMessage: hasUpload(parsed)
            ? // Problems with an uploaded file quote it (keys, lines): not kept in the audit either.
              `the uploaded file was refused (${e.code}); its problems quote its content and are not kept here`
            : scrubUrlCredentials(e.message.slice(0, MAX_AUDIT_MESSAGE_CHARS)),
          requestId: ctx.requestId,
          durationMs: Math.round(clock.monotonic() - startedAt),
        });
      } catch (auditErr) {
        // A full disk refuses the audit row too: the call changed nothing; say so in the log.
        logger.error(
          { err: auditErr, channel: m.channel, requestId: ctx.requestId },
          'audit row not written',
        );
      }
      throw e;
    }
  }

  return {
    methods,
    async call(channel, rawInput, ctx) {
      const m = methods.get(channel);
      if (!m || !impls.has(channel))
        throw new OutpostError('route-not-found', `unknown operation "${channel}"`);
      // A quiet command (a step of a transfer whose enclosing action is audited) runs like a query.
      return m.def.kind === 'command' && !m.def.quiet ? command(m, rawInput, ctx) : query(m, rawInput, ctx);
    },
  };
}

function keyReused(channel: string): OutpostError {
  return new OutpostError(
    'idempotency-key-reused',
    `this Idempotency-Key was used for another call (a different operation, input or caller than ${channel}); use a new key for a new change`,
  );
}

/** What identifies a call's intent: the operation and its validated input. */
function digestOf(channel: string, parsed: unknown): string {
  return crypto
    .createHash('sha256')
    .update(channel)
    .update('\n')
    .update(JSON.stringify(parsed ?? null))
    .digest('hex');
}

/** Input whose shape breaks the limits, as the error to answer with (the input is not looked at further). */
function shapeError(m: ResolvedMethod, raw: unknown): OutpostError | undefined {
  const p = inputShapeProblem(raw);
  if (!p) return undefined;
  return new OutpostError('invalid-input', `${m.channel}: ${p.field}: ${p.message}`, { errors: [p] });
}

/** Unknown keys named in one problem: the first few, then a count. */
const MAX_KEYS_NAMED = 10;

function parseInput(m: ResolvedMethod, raw: unknown): unknown {
  const shape = shapeError(m, raw);
  if (shape) throw shape;
  return parseShaped(m, raw);
}

/** Validates input already known to be within the shape limits. */
function parseShaped(m: ResolvedMethod, raw: unknown): unknown {
  const r = (m.def.input as z.ZodType).safeParse(raw === null ? undefined : raw);
  if (r.success) return r.data;
  const problems: FieldProblem[] = capProblems(
    r.error.issues.map((i) => ({
      field: formatPath(i.path) || '(input)',
      message:
        i.code === 'unrecognized_keys'
          ? `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys
              .slice(0, MAX_KEYS_NAMED)
              .map((k) => `"${k}"`)
              .join(
                ', ',
              )}${i.keys.length > MAX_KEYS_NAMED ? ` and ${i.keys.length - MAX_KEYS_NAMED} more` : ''}`
          : i.message,
    })),
  );
  throw new OutpostError(
    'invalid-input',
    `${m.channel}: ${problems
      .slice(0, 10)
      .map((p) => `${p.field}: ${p.message}`)
      .join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`,
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
  // A full disk is said as such, also when a module wrapped it in its own error.
  if (err instanceof OutpostError && (err.status < 500 || diskFullCause(err.cause) === undefined)) return err;
  if (err instanceof Error && err.name === 'AbortError')
    return new OutpostError('cancelled', 'the operation was cancelled', { cause: err });
  if (err instanceof OutpostError) return OutpostError.from(err.cause);
  return OutpostError.from(err);
}

/**
 * What the audit log keeps of an input: secret fields removed, credentials cut out of URLs, and
 * uploaded files reduced to their name, size and digest (the audit is append-only and readable by the
 * tenant's tokens: an uploaded file's content must never land there, ADR 0480).
 */
function auditedInput(input: unknown, fields: readonly string[] | undefined): unknown {
  return scrubCredentials(withoutUploads(redact(input, fields), 0));
}

/** An upload (`{fileName, content, resources?}`) as `{fileName, bytes, sha256, resources?}`. */
function withoutUploads(v: unknown, depth: number): unknown {
  if (v === null || typeof v !== 'object' || depth > 16) return v;
  if (Array.isArray(v)) return v.map((x) => withoutUploads(x, depth + 1));
  const o = v as Record<string, unknown>;
  if (typeof o.fileName === 'string' && typeof o.content === 'string') {
    const resources =
      o.resources && typeof o.resources === 'object'
        ? Object.fromEntries(
            Object.entries(o.resources as Record<string, unknown>).map(([name, b64]) => {
              const bytes = Buffer.from(String(b64), 'base64');
              return [name, { bytes: bytes.length, sha256: sha256(bytes) }];
            }),
          )
        : undefined;
    const bytes = Buffer.from(o.content, 'utf8');
    return {
      fileName: o.fileName,
      bytes: bytes.length,
      sha256: sha256(bytes),
      ...(resources ? { resources } : {}),
    };
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = withoutUploads(x, depth + 1);
  return out;
}

/** Whether an input carries an uploaded file (see withoutUploads). */
function hasUpload(v: unknown, depth = 0): boolean {
  if (v === null || typeof v !== 'object' || depth > 16) return false;
  const o = v as Record<string, unknown>;
  if (typeof o.fileName === 'string' && typeof o.content === 'string') return true;
  return Object.values(o).some((x) => hasUpload(x, depth + 1));
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

function scrubTarget(target: string | undefined): string | undefined {
  return target === undefined ? undefined : scrubUrlCredentials(target);
}

function redact(input: unknown, fields: readonly string[] | undefined): unknown {
  if (!fields?.length || !input || typeof input !== 'object') return input;
  const copy: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const f of fields) if (f in copy) copy[f] = '[redacted]';
  return copy;
}
