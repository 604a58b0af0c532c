import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { openStore, type Store } from '../store/db.js';
import type { DeploymentStatus } from '../../lib/model/index.js';
import { createStatusBatcher, STATUS_BATCH_MAX } from './status-batch.js';

/** Status reports recorded together: each answered after its commit, a failing one refused alone. */
describe('status group commit', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ot-status-batch-'));
    dirs.push(dir);
    const file = path.join(dir, 'outpost.db');
    const store = openStore(file);
    stores.push(store);
    store.sqlite.exec('CREATE TABLE reports (client_id TEXT PRIMARY KEY, state TEXT NOT NULL)');
    const insert = store.sqlite.prepare('INSERT INTO reports (client_id, state) VALUES (?, ?)');
    let commits = 0;
    store.beforeCommit(() => () => commits++);
    const batcher = createStatusBatcher({
      store,
      sink: {
        record(r) {
          // A second report of one client breaks the primary key: that report fails, alone.
          insert.run(r.clientId, r.status.status.state);
          return 'created';
        },
      },
    });
    // Another connection sees only what was committed.
    const other = new Database(file, { readonly: true });
    const committed = (id: string) =>
      other.prepare('SELECT state FROM reports WHERE client_id = ?').pluck().get(id) as string | undefined;
    return { batcher, committed, commits: () => commits, close: () => other.close() };
  }

  const report = (clientId: string, state: 'installing' | 'installed' = 'installed') => ({
    clientId,
    status: {
      deploymentId: 'd1',
      adoptedManifestVersion: 1,
      status: { state },
      components: [{ name: 'hello', state }],
    } satisfies DeploymentStatus,
    digest: undefined,
    receivedAt: 1,
    eventAt: null,
  });

  it('answers each report once it is committed, many reports in one transaction', async () => {
    const s = setup();
    try {
      const answers = Array.from({ length: 50 }, (_, i) =>
        s.batcher.record(report(`n${i}`)).then((outcome) => ({ outcome, seen: s.committed(`n${i}`) })),
      );
      const done = await Promise.all(answers);
      expect(done.every((d) => d.outcome === 'created' && d.seen === 'installed')).toBe(true);
      expect(s.commits()).toBe(1);
    } finally {
      s.close();
    }
  });

  it('refuses a failing report alone and keeps the others of its batch', async () => {
    const s = setup();
    try {
      await s.batcher.record(report('dup', 'installing'));
      const results = await Promise.allSettled([
        s.batcher.record(report('a')),
        s.batcher.record(report('dup')),
        s.batcher.record(report('b')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect([s.committed('a'), s.committed('dup'), s.committed('b')]).toEqual([
        'installed',
        'installing',
        'installed',
      ]);
    } finally {
      s.close();
    }
  });

  it(`splits a burst into transactions of at most ${STATUS_BATCH_MAX}`, async () => {
    const s = setup();
    try {
      const n = STATUS_BATCH_MAX * 2 + 1;
      await Promise.all(Array.from({ length: n }, (_, i) => s.batcher.record(report(`n${i}`))));
      expect(s.commits()).toBe(3);
      expect(s.committed(`n${n - 1}`)).toBe('installed');
    } finally {
      s.close();
    }
  });
});
