import { AsyncLocalStorage } from 'node:async_hooks';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { AuditLog, AuditRecord } from '../audit.js';

/**
 * The journal of state-changing calls (ADR 0480). While a command runs, its audit entry is pending;
 * the first transaction the handler commits writes that entry (and the caller's Idempotency-Key)
 * inside itself, so a change is never committed without its audit row, nor audited without being
 * committed. A command that commits nothing through a transaction is journaled when it returns.
 */
export interface PendingCall {
  readonly audit: Omit<AuditRecord, 'result' | 'durationMs'>;
  readonly startedAt: number;
  readonly idempotency?: { key: string; inputDigest: string } | undefined;
  /** The record the call made (set by the handler through ctx.noteResultRef). */
  ref?: string | undefined;
  /** The audit row was committed with a change. */
  committed: boolean;
  auditSeq?: number | undefined;
  /** False once the call returned: background work it started must not write its row. */
  open: boolean;
}

export interface StoredCall {
  tenantId: string;
  key: string;
  actor: string;
  action: string;
  inputDigest: string;
  ref: string | null;
  result: string | null;
  auditSeq: number | null;
  createdAt: number;
}

export interface CallJournal {
  /** Runs a command's handler with its entry pending. */
  run<T>(call: PendingCall, fn: () => Promise<T>): Promise<T>;
  /**
   * The call returned: keeps its answer with its key (when `keep` is a JSON text) and, when no
   * transaction of the handler committed, writes its audit row now.
   */
  finish(call: PendingCall, keep: string | null): void;
  /** A retry's prior call with this key, if any. */
  find(tenantId: string, key: string): StoredCall | undefined;
}

/** Keys are kept this long: long enough for any retry. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export function createCallJournal(deps: { store: Store; audit: AuditLog; clock: Clock }): CallJournal {
  const { store, audit, clock } = deps;
  const als = new AsyncLocalStorage<PendingCall>();
  const insertKey = store.sqlite.prepare(
    `INSERT INTO idempotency_keys (tenant_id, key, actor, action, input_digest, ref, result, audit_seq, created_at)
     VALUES (@tenantId, @key, @actor, @action, @inputDigest, @ref, @result, @auditSeq, @createdAt)`,
  );
  const setResult = store.sqlite.prepare(
    'UPDATE idempotency_keys SET result = ?, ref = coalesce(ref, ?) WHERE tenant_id = ? AND key = ?',
  );
  const findKey = store.sqlite.prepare(
    `SELECT tenant_id AS tenantId, key, actor, action, input_digest AS inputDigest, ref, result, audit_seq AS auditSeq,
       created_at AS createdAt FROM idempotency_keys WHERE tenant_id = ? AND key = ? AND created_at >= ?`,
  );
  const purge = store.sqlite.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  let purgedAt = 0;

  /** The audit row (result ok) and the key row of a call, in the caller's transaction. */
  function write(call: PendingCall, result: string | null): void {
    const now = clock.now();
    call.auditSeq = audit.record({
      ...call.audit,
      result: 'ok',
      durationMs: Math.round(clock.monotonic() - call.startedAt),
    });
    if (call.idempotency && call.audit.tenantId !== null) {
      insertKey.run({
        tenantId: call.audit.tenantId,
        key: call.idempotency.key,
        actor: call.audit.actor,
        action: call.audit.action,
        inputDigest: call.idempotency.inputDigest,
        ref: call.ref ?? call.audit.target ?? null,
        result,
        auditSeq: call.auditSeq,
        createdAt: now,
      });
      if (now - purgedAt > 60 * 60 * 1000) {
        purgedAt = now;
        purge.run(now - IDEMPOTENCY_TTL_MS);
      }
    }
  }

  store.beforeCommit(() => {
    const call = als.getStore();
    if (!call || !call.open || call.committed) return;
    write(call, null);
    return (committed) => {
      if (committed) call.committed = true;
      else call.auditSeq = undefined;
    };
  });

  return {
    run(call, fn) {
      return als.run(call, fn);
    },
    finish(call, keep) {
      call.open = false;
      // Outside any call's context: this transaction journals this call only.
      als.exit(() => {
        if (call.committed) {
          if (call.idempotency && call.audit.tenantId !== null && keep !== null)
            setResult.run(keep, call.ref ?? null, call.audit.tenantId, call.idempotency.key);
          return;
        }
        store.tx(() => write(call, keep));
        call.committed = true;
      });
    },
    find(tenantId, key) {
      return findKey.get(tenantId, key, clock.now() - IDEMPOTENCY_TTL_MS) as StoredCall | undefined;
    },
  };
}
