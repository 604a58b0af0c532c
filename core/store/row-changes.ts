import type Database from 'better-sqlite3';
import { OutpostError } from '../../lib/errors/index.js';

/**
 * Row-change notifications for in-memory caches of hot paths (the MMI poll answers from memory, ADR 0540).
 *
 * A cache registers the table, the key column and the columns it depends on; this installs TEMP triggers on
 * the store's connection that call back into JavaScript with the key of every inserted, deleted or updated
 * row, inside the writing statement. So every write on this connection invalidates what it changes, whoever
 * makes it (a drizzle query, a prepared statement, a test), without a query on the read side. A write by
 * another connection (another process on the same file; the server holds its home's lock, so only tools
 * and tests do that) does not fire them: `changedElsewhere()` compares SQLite's `data_version`, which moves
 * when another connection committed, at most every `CHECK_ELSEWHERE_MS` (the pragma costs about as much
 * as the rest of a poll), and caches then drop everything. Invalidation by this connection's writes may be
 * early (a write rolled back after its trigger ran) but never late.
 *
 * A callback must not use the connection (it runs inside a statement) and must not throw.
 */

export type RowChangeListener = (key: string | null) => void;

export interface RowWatch {
  table: string;
  /** The column whose value identifies what changed (passed to the listener). */
  key: string;
  /** Updates of only these columns count (default: any column). Inserts and deletes always count. */
  columns?: readonly string[];
}

export interface RowChanges {
  /** Calls `listener` with the key of every row of `table` changed on this connection; returns an unsubscribe. */
  watch(w: RowWatch, listener: RowChangeListener): () => void;
  /**
   * True once after another connection committed a change to the database (drop every cached row then);
   * looks at most every CHECK_ELSEWHERE_MS.
   */
  changedElsewhere(): boolean;
}

const FUNCTION = 'outpost_row_changed';
/** How often `changedElsewhere()` asks SQLite (a write by another connection is seen within this). */
export const CHECK_ELSEWHERE_MS = 250;
const IDENT = /^[a-z_][a-z0-9_]*$/;

interface Registry {
  /** Per watch (table, key column and columns): its listeners. */
  listeners: Map<string, Set<RowChangeListener>>;
  dataVersion: Database.Statement;
}

// One registry per connection: the SQL function and the triggers belong to the connection.
const registries = new WeakMap<Database.Database, Registry>();

function registryOf(sqlite: Database.Database): Registry {
  let r = registries.get(sqlite);
  if (r) return r;
  const listeners = new Map<string, Set<RowChangeListener>>();
  sqlite.function(FUNCTION, { deterministic: false, directOnly: false }, (channel: unknown, key: unknown) => {
    const set = listeners.get(String(channel));
    if (set) {
      const k = key === null || key === undefined ? null : String(key);
      for (const l of set) {
        try {
          l(k);
        } catch {
          /* a listener must not fail the write; caches only drop entries */
        }
      }
    }
    return null;
  });
  r = { listeners, dataVersion: sqlite.prepare('PRAGMA data_version').pluck() };
  registries.set(sqlite, r);
  return r;
}

/** Names the watch's triggers and its channel: `<table>__<key>[__<columns>]`. */
function channelOf(w: RowWatch): string {
  return [w.table, w.key, ...(w.columns ? [[...w.columns].sort().join('_')] : [])].join('__');
}

/** Row-change notifications on this connection; each handle tracks other connections' commits on its own. */
export function rowChanges(sqlite: Database.Database): RowChanges {
  const reg = registryOf(sqlite);
  let seenVersion = reg.dataVersion.get() as number;
  let checkedAt = performance.now();
  return {
    watch(w, listener) {
      for (const id of [w.table, w.key, ...(w.columns ?? [])])
        if (!IDENT.test(id))
          throw new OutpostError('internal', `row watch: "${id}" is not a plain identifier`);
      const channel = channelOf(w);
      const call = (row: 'NEW' | 'OLD') => `SELECT ${FUNCTION}('${channel}', ${row}.${w.key});`;
      const defs: [string, string][] = [
        ['ins', `AFTER INSERT ON main.${w.table} BEGIN ${call('NEW')} END`],
        ['del', `AFTER DELETE ON main.${w.table} BEGIN ${call('OLD')} END`],
        [
          'upd',
          `AFTER UPDATE${w.columns ? ` OF ${w.columns.join(', ')}` : ''} ON main.${w.table} BEGIN ${call('OLD')} ${call('NEW')} END`,
        ],
      ];
      let set = reg.listeners.get(channel);
      if (!set) {
        for (const [op, body] of defs)
          sqlite.exec(`CREATE TEMP TRIGGER IF NOT EXISTS outpost_rc__${channel}__${op} ${body}`);
        reg.listeners.set(channel, (set = new Set()));
      }
      set.add(listener);
      return () => set.delete(listener);
    },
    changedElsewhere() {
      const now = performance.now();
      if (now - checkedAt < CHECK_ELSEWHERE_MS || !sqlite.open) return false;
      checkedAt = now;
      const v = reg.dataVersion.get() as number;
      if (v === seenVersion) return false;
      seenVersion = v;
      return true;
    },
  };
}
