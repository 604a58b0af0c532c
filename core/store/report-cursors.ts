import type { Store } from './db.js';

/**
 * Idempotent handling of reports that arrive over the bus (ADR 0168): per origin, the highest sequence
 * number applied, kept in `report_cursors` and written in the same transaction as the report's effect.
 * A report at or below it is a replay and must change nothing. Use inside `store.tx`.
 */
export interface ReportCursors {
  /** True when `seq` of `origin` was applied already (a replay). */
  applied(origin: string, seq: number): boolean;
  /** Records `seq` as applied (call in the transaction that applied it). */
  mark(origin: string, seq: number, at: number): void;
}

export function createReportCursors(store: Store): ReportCursors {
  const get = store.sqlite.prepare('SELECT seq FROM report_cursors WHERE origin = ?');
  const put = store.sqlite.prepare(
    `INSERT INTO report_cursors (origin, seq, applied_at) VALUES (?, ?, ?)
     ON CONFLICT(origin) DO UPDATE SET seq = max(seq, excluded.seq), applied_at = excluded.applied_at`,
  );
  return {
    applied(origin, seq) {
      const row = get.get(origin) as { seq: number } | undefined;
      return row !== undefined && seq <= row.seq;
    },
    mark(origin, seq, at) {
      put.run(origin, seq, at);
    },
  };
}

/** The origin key of a node's reports forwarded by a site's LO over the bus. */
export function busOrigin(siteId: string, loNodeUid: string): string {
  return `bus:${siteId}:${loNodeUid}`;
}
