import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from './db.js';
import { OutpostError } from '../../lib/errors/index.js';

const journal = (
  JSON.parse(fs.readFileSync(path.resolve('core/store/migrations/meta/_journal.json'), 'utf8')) as {
    entries: { idx: number; tag: string }[];
  }
).entries
  .sort((a, b) => a.idx - b.idx)
  .map((e) => e.tag);

describe('openStore', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-store-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates the database in WAL mode with foreign keys on and applies every migration', () => {
    const file = path.join(dir, 'sub', 'outpost.db');
    const store = openStore(file);
    try {
      expect(store.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(store.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(store.schemaVersion()).toBe(journal[journal.length - 1]);
      const applied = store.sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as {
        n: number;
      };
      expect(applied.n).toBe(journal.length);
    } finally {
      store.close();
    }
  });

  it('applies nothing twice when opened again, and keeps the data', () => {
    const file = path.join(dir, 'again.db');
    const first = openStore(file);
    first.sqlite.prepare(`INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'Acme', 1)`).run();
    first.close();
    const second = openStore(file);
    try {
      const applied = second.sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as {
        n: number;
      };
      expect(applied.n).toBe(journal.length);
      expect(second.sqlite.prepare(`SELECT name FROM tenants WHERE id = 'acme'`).get()).toEqual({
        name: 'Acme',
      });
    } finally {
      second.close();
    }
  });

  it('reports no schema without migrations, and a database it cannot open with a code', () => {
    const bare = openStore(path.join(dir, 'bare.db'), { migrate: false });
    try {
      expect(bare.schemaVersion()).toBe('none');
    } finally {
      bare.close();
    }
    const notADb = path.join(dir, 'garbage.db');
    fs.writeFileSync(notADb, 'this is not a database, just text that is long enough to have a header');
    let err: unknown;
    try {
      openStore(notADb).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('unavailable');
    expect((err as OutpostError).message).toContain(notADb);
  });

  it('rolls a failed transaction back', () => {
    const store = openStore(path.join(dir, 'tx.db'));
    try {
      expect(() =>
        store.tx(() => {
          store.sqlite.prepare(`INSERT INTO tenants (id, name, created_at) VALUES ('t1', 'T1', 1)`).run();
          throw new Error('boom');
        }),
      ).toThrow('boom');
      expect(store.sqlite.prepare(`SELECT count(*) AS n FROM tenants WHERE id = 't1'`).get()).toEqual({
        n: 0,
      });
    } finally {
      store.close();
    }
  });
});
