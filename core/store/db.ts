import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { OutpostError } from '../../lib/errors/index.js';
import { migrationsDir } from '../../lib/base/index.js';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
export type Db = BetterSQLite3Database<Schema>;

export interface Store {
  /** drizzle over the same connection */
  readonly db: Db;
  /** the raw better-sqlite3 handle, for hot paths and PRAGMAs */
  readonly sqlite: Database.Database;
  readonly file: string;
  /** Tag of the newest applied migration, e.g. `0001_audit_append_only`. */
  schemaVersion(): string;
  /** Runs `fn` in one IMMEDIATE transaction (all or nothing). */
  tx<T>(fn: () => T): T;
  /**
   * Adds work that runs inside every outermost `tx`, after its function and before the commit (the
   * call journal writes a call's audit row there, ADR 0480). A hook that throws rolls the transaction
   * back. A hook may return a function that is told, once the transaction ended, whether it committed.
   * Returns a function that removes the hook.
   */
  beforeCommit(hook: CommitHook): () => void;
  close(): void;
}

export type CommitHook = () => ((committed: boolean) => void) | void;

export interface OpenStoreOptions {
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  readonly?: boolean;
}

/**
 * Opens (creating if needed) the SQLite database in WAL mode (synchronous NORMAL: durable across a
 * process crash, ADR 0002) with foreign keys on, then applies pending migrations in one go. `:memory:`
 * works for unit tests.
 */
export function openStore(file: string, options: OpenStoreOptions = {}): Store {
  if (file !== ':memory:') {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    if (!options.readonly) ownerOnly(file);
  }
  let sqlite: Database.Database;
  try {
    sqlite = new Database(file, { readonly: options.readonly ?? false, timeout: 5000 });
  } catch (cause) {
    throw new OutpostError('unavailable', `cannot open the database ${file}: ${(cause as Error).message}`, {
      cause,
    });
  }
  try {
    if (!options.readonly) {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
    }
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
  } catch (cause) {
    sqlite.close();
    throw new OutpostError(
      'unavailable',
      `cannot configure the database ${file}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const db = drizzle(sqlite, { schema });
  if (options.migrate !== false && !options.readonly) {
    try {
      migrate(db, { migrationsFolder: migrationsDir() });
    } catch (cause) {
      sqlite.close();
      throw new OutpostError(
        'unavailable',
        `database migration failed for ${file}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  const journal = readJournal();
  const hooks = new Set<CommitHook>();
  return {
    db,
    sqlite,
    file,
    schemaVersion() {
      const row = sqlite
        .prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type='table' AND name='__drizzle_migrations'`)
        .get() as { n: number };
      if (!row.n) return 'none';
      const applied = sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number };
      return journal[applied.n - 1] ?? `unknown-${applied.n}`;
    },
    tx<T>(fn: () => T): T {
      // Nested: a savepoint inside the outer transaction, whose hooks run once at its end.
      if (sqlite.inTransaction) return sqlite.transaction(fn)();
      const settle: ((committed: boolean) => void)[] = [];
      let out: T;
      try {
        out = sqlite
          .transaction(() => {
            settle.length = 0;
            const r = fn();
            for (const h of hooks) {
              const s = h();
              if (s) settle.push(s);
            }
            return r;
          })
          .immediate();
      } catch (err) {
        for (const s of settle) s(false);
        throw err;
      }
      for (const s of settle) s(true);
      return out;
    },
    beforeCommit(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },
    close() {
      if (sqlite.open) sqlite.close();
    },
  };
}

/**
 * The database holds token hashes, the audit log and every deployment: readable by its owner only.
 * Created 0600, and an existing file (and its WAL and shared-memory files, which SQLite creates with
 * the database's mode) tightened to 0600.
 */
function ownerOnly(file: string): void {
  fs.closeSync(fs.openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((fs.statSync(f).mode & 0o077) !== 0) fs.chmodSync(f, 0o600);
    } catch {
      // not there (yet)
    }
  }
}

function readJournal(): string[] {
  const file = path.join(migrationsDir(), 'meta', '_journal.json');
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: { idx: number; tag: string }[] };
  return j.entries.sort((a, b) => a.idx - b.idx).map((e) => e.tag);
}
