import { afterEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { openStore, type Store } from './db.js';
import { nodes, sites } from './schema/index.js';
import { CHECK_ELSEWHERE_MS, rowChanges } from './row-changes.js';

describe('rowChanges', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    vi.useRealTimers();
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  const open = (file: string) => {
    const s = openStore(file);
    stores.push(s);
    return s;
  };
  const seed = (store: Store) => {
    store.db
      .insert(sites)
      .values({ tenantId: 'default', id: 's', name: 's', labels: {}, servedBy: 'embedded', createdAt: 1 })
      .run();
    const node = (name: string) => ({
      uid: `default.${name}`,
      tenantId: 'default',
      name,
      siteId: 's',
      labels: {},
      state: 'registered' as const,
      createdAt: 1,
    });
    store.db
      .insert(nodes)
      .values([node('a'), node('b')])
      .run();
  };

  it('reports the key of every inserted, deleted and updated row, whoever writes it on this connection', () => {
    const store = open(':memory:');
    const seen: (string | null)[] = [];
    rowChanges(store.sqlite).watch({ table: 'nodes', key: 'uid' }, (k) => seen.push(k));
    seed(store);
    expect(seen).toEqual(['default.a', 'default.b']);
    seen.length = 0;
    store.db.update(nodes).set({ state: 'enrolled' }).where(eq(nodes.uid, 'default.a')).run();
    store.sqlite.prepare(`UPDATE nodes SET labels = '{"x":"1"}' WHERE uid = ?`).run('default.b');
    store.sqlite.prepare('DELETE FROM nodes WHERE uid = ?').run('default.b');
    // An update reports the row's key before and after.
    expect(seen).toEqual(['default.a', 'default.a', 'default.b', 'default.b', 'default.b']);
  });

  it('counts updates of the watched columns only, and keeps watches of the same table apart', () => {
    const store = open(':memory:');
    seed(store);
    const state: (string | null)[] = [];
    const byName: (string | null)[] = [];
    const changes = rowChanges(store.sqlite);
    changes.watch({ table: 'nodes', key: 'uid', columns: ['state'] }, (k) => state.push(k));
    changes.watch({ table: 'nodes', key: 'name', columns: ['labels'] }, (k) => byName.push(k));
    store.sqlite.prepare('UPDATE nodes SET last_seen_at = 5').run();
    expect(state).toEqual([]);
    expect(byName).toEqual([]);
    store.sqlite.prepare(`UPDATE nodes SET state = 'revoked' WHERE uid = 'default.a'`).run();
    store.sqlite.prepare(`UPDATE nodes SET labels = '{}' WHERE uid = 'default.b'`).run();
    expect(state).toEqual(['default.a', 'default.a']);
    expect(byName).toEqual(['b', 'b']);
  });

  it('a listener that throws does not fail the write; an unsubscribed one is not called', () => {
    const store = open(':memory:');
    const calls: string[] = [];
    const changes = rowChanges(store.sqlite);
    changes.watch({ table: 'nodes', key: 'uid' }, () => {
      throw new Error('boom');
    });
    const off = changes.watch({ table: 'nodes', key: 'uid' }, (k) => calls.push(String(k)));
    seed(store);
    expect(store.sqlite.prepare('SELECT count(*) AS n FROM nodes').get()).toEqual({ n: 2 });
    off();
    store.sqlite.prepare('DELETE FROM nodes').run();
    expect(calls).toEqual(['default.a', 'default.b']);
  });

  it('refuses names that are not plain identifiers', () => {
    const store = open(':memory:');
    expect(() =>
      rowChanges(store.sqlite).watch({ table: 'nodes; DROP TABLE nodes', key: 'uid' }, () => undefined),
    ).toThrow(/plain identifier/);
  });

  it('sees a commit by another connection (within the check interval), once per handle', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-rowchanges-'));
    dirs.push(dir);
    const file = path.join(dir, 'db.sqlite');
    const mine = open(file);
    const other = open(file);
    const a = rowChanges(mine.sqlite);
    const b = rowChanges(mine.sqlite);
    const seen: (string | null)[] = [];
    a.watch({ table: 'nodes', key: 'uid' }, (k) => seen.push(k));
    vi.advanceTimersByTime(CHECK_ELSEWHERE_MS);
    expect(a.changedElsewhere()).toBe(false);
    seed(other);
    // The triggers belong to the writing connection: nothing fired here.
    expect(seen).toEqual([]);
    expect(a.changedElsewhere()).toBe(false); // not asked again yet
    vi.advanceTimersByTime(CHECK_ELSEWHERE_MS);
    expect(a.changedElsewhere()).toBe(true);
    vi.advanceTimersByTime(CHECK_ELSEWHERE_MS);
    expect(a.changedElsewhere()).toBe(false);
    expect(b.changedElsewhere()).toBe(true);
    // Its own writes are not "elsewhere".
    mine.sqlite.prepare('DELETE FROM nodes').run();
    vi.advanceTimersByTime(CHECK_ELSEWHERE_MS);
    expect(a.changedElsewhere()).toBe(false);
    expect(seen).toEqual(['default.a', 'default.b']);
  });
});
