import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import type { Clock } from '../lib/base/index.js';
import type { Store } from './store/db.js';
import { audit } from './store/schema/index.js';
import type { AuditEntry } from '../lib/contract/index.js';

export interface AuditRecord {
  tenantId: string | null;
  actor: string;
  transport: string;
  action: string;
  target?: string | undefined;
  input?: unknown;
  result: 'ok' | 'error';
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  requestId?: string | undefined;
  durationMs?: number | undefined;
}

export interface AuditLog {
  /** Appends one entry; returns its sequence number. */
  record(entry: AuditRecord): number;
  list(
    tenantId: string,
    options: { limit: number; before?: number | undefined; action?: string | undefined },
  ): AuditEntry[];
}

const MAX_INPUT_CHARS = 4000;

/** Append-only audit log in SQLite (triggers refuse UPDATE and DELETE). */
export function createAuditLog(store: Store, clock: Clock): AuditLog {
  const insert = store.sqlite.prepare(
    `INSERT INTO audit (at, tenant_id, actor, transport, action, target, input, result, error_code, error_message, request_id, duration_ms)
     VALUES (@at, @tenantId, @actor, @transport, @action, @target, @input, @result, @errorCode, @errorMessage, @requestId, @durationMs)`,
  );
  return {
    record(e) {
      let input: string | null = null;
      if (e.input !== undefined) {
        input = JSON.stringify(e.input);
        if (input.length > MAX_INPUT_CHARS)
          input = JSON.stringify({ truncated: true, preview: input.slice(0, MAX_INPUT_CHARS) });
      }
      const r = insert.run({
        at: clock.now(),
        tenantId: e.tenantId,
        actor: e.actor,
        transport: e.transport,
        action: e.action,
        target: e.target ?? null,
        input,
        result: e.result,
        errorCode: e.errorCode ?? null,
        errorMessage: e.errorMessage ?? null,
        requestId: e.requestId ?? null,
        durationMs: e.durationMs ?? null,
      });
      return Number(r.lastInsertRowid);
    },
    list(tenantId, { limit, before, action }) {
      const conds: SQL[] = [eq(audit.tenantId, tenantId)];
      if (before !== undefined) conds.push(lt(audit.seq, before));
      if (action !== undefined) conds.push(eq(audit.action, action));
      const rows = store.db
        .select()
        .from(audit)
        .where(and(...conds))
        .orderBy(desc(audit.seq))
        .limit(limit)
        .all();
      return rows.map((r) => ({
        seq: r.seq,
        at: r.at,
        tenantId: r.tenantId,
        actor: r.actor,
        transport: r.transport,
        action: r.action,
        target: r.target,
        input: r.input === null ? null : (JSON.parse(r.input) as unknown),
        result: r.result,
        errorCode: r.errorCode,
        errorMessage: r.errorMessage,
        durationMs: r.durationMs,
      }));
    },
  };
}
