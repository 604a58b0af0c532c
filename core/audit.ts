import type { Clock } from '../lib/base/index.js';
import type { Store } from './store/db.js';
import type { AuditEntry, AuditSource } from '../lib/contract/index.js';

export interface AuditRecord {
  tenantId: string | null;
  actor: string;
  transport: string;
  /** Where the call came from (ADR 0232). */
  source: AuditSource;
  action: string;
  target?: string | undefined;
  input?: unknown;
  result: 'ok' | 'error';
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  requestId?: string | undefined;
  durationMs?: number | undefined;
}

/** Filters of the audit log (system.audit after the contract parsed it). */
export interface AuditFilter {
  limit: number;
  offset?: number | undefined;
  before?: number | undefined;
  action?: string | undefined;
  /** Only entries about this target (`node/edge-1`). */
  target?: string | undefined;
  result?: 'ok' | 'error' | undefined;
  source?: AuditSource | undefined;
  since?: number | undefined;
  search?: string | undefined;
}

export interface AuditLog {
  /** Appends one entry; returns its sequence number. */
  record(entry: AuditRecord): number;
  list(tenantId: string, options: AuditFilter): AuditEntry[];
  /** How many entries match the filters (limit and offset aside). */
  count(tenantId: string, options: AuditFilter): number;
}

const MAX_INPUT_CHARS = 4000;

/**
 * Append-only audit log in SQLite (triggers refuse UPDATE and DELETE). `onRecorded` hears of each new
 * entry's tenant (the core announces the `audit` topic, so open audit pages update live).
 */
export function createAuditLog(
  store: Store,
  clock: Clock,
  onRecorded?: (tenantId: string | null) => void,
): AuditLog {
  const insert = store.sqlite.prepare(
    `INSERT INTO audit (at, tenant_id, actor, transport, source, action, target, input, result, error_code, error_message, request_id, duration_ms)
     VALUES (@at, @tenantId, @actor, @transport, @source, @action, @target, @input, @result, @errorCode, @errorMessage, @requestId, @durationMs)`,
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
        source: e.source,
        action: e.action,
        target: e.target ?? null,
        input,
        result: e.result,
        errorCode: e.errorCode ?? null,
        errorMessage: e.errorMessage ?? null,
        requestId: e.requestId ?? null,
        durationMs: e.durationMs ?? null,
      });
      onRecorded?.(e.tenantId);
      return Number(r.lastInsertRowid);
    },
    list(tenantId, f) {
      const { sql, params } = where(tenantId, f);
      const rows = store.sqlite
        .prepare(
          `SELECT seq, at, tenant_id AS tenantId, actor, transport, source, action, target, input, result,
             error_code AS errorCode, error_message AS errorMessage, duration_ms AS durationMs
           FROM audit WHERE ${sql} ORDER BY seq DESC LIMIT @limit OFFSET @offset`,
        )
        .all({ ...params, limit: f.limit, offset: f.offset ?? 0 }) as (Omit<AuditEntry, 'input'> & {
        input: string | null;
      })[];
      return rows.map((r) => ({ ...r, input: r.input === null ? null : (JSON.parse(r.input) as unknown) }));
    },
    count(tenantId, f) {
      const { sql, params } = where(tenantId, f);
      return (
        store.sqlite.prepare(`SELECT count(*) AS n FROM audit WHERE ${sql}`).get(params) as { n: number }
      ).n;
    },
  };
}

/** The WHERE clause of a filter, with named parameters only (no text from the caller in the SQL). */
function where(tenantId: string, f: AuditFilter): { sql: string; params: Record<string, unknown> } {
  const conds = ['tenant_id = @tenant'];
  const params: Record<string, unknown> = { tenant: tenantId };
  const exact: [keyof AuditFilter, string][] = [
    ['before', 'seq < @before'],
    ['action', 'action = @action'],
    ['target', 'target = @target'],
    ['result', 'result = @result'],
    ['source', 'source = @source'],
    ['since', 'at >= @since'],
  ];
  for (const [k, cond] of exact) {
    if (f[k] === undefined) continue;
    conds.push(cond);
    params[k] = f[k];
  }
  if (f.search) {
    // LIKE is ASCII case-insensitive in SQLite; % and _ in the text are matched literally.
    conds.push(
      `(actor LIKE @search ESCAPE '\\' OR action LIKE @search ESCAPE '\\' OR coalesce(target, '') LIKE @search ESCAPE '\\'
        OR coalesce(error_message, '') LIKE @search ESCAPE '\\' OR coalesce(input, '') LIKE @search ESCAPE '\\')`,
    );
    params.search = `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  }
  return { sql: conds.join(' AND '), params };
}
