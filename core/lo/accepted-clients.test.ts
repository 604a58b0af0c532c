import { afterEach, describe, expect, it, vi } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { openStore, type Store } from '../store/db.js';
import { clientPolicy, nodes, sites, svids } from '../store/schema/index.js';
import { CHECK_ELSEWHERE_MS } from '../store/row-changes.js';
import { createAcceptedClients } from './accepted-clients.js';

const TD = 'spiffe://plant.example/margo/wfm/lo';
const client = (id: string, serialHex = `5e${id.length}`) => ({
  clientId: `default.${id}`,
  spiffeId: `${TD}/client/default.${id}`,
  serialHex,
});

describe('accepted clients from memory', () => {
  const dirs: string[] = [];
  const stores: Store[] = [];
  afterEach(() => {
    vi.useRealTimers();
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup(file = ':memory:') {
    const store = openStore(file);
    stores.push(store);
    store.db
      .insert(sites)
      .values({ tenantId: 'default', id: 's', name: 's', labels: {}, servedBy: 'embedded', createdAt: 1 })
      .run();
    const enroll = (id: string, serialHex: string) => {
      store.db
        .insert(nodes)
        .values({
          uid: `default.${id}`,
          tenantId: 'default',
          name: id,
          siteId: 's',
          labels: {},
          state: 'enrolled',
          createdAt: 1,
        })
        .run();
      store.db
        .insert(svids)
        .values({
          serialHex,
          clientId: `default.${id}`,
          spiffeId: client(id).spiffeId,
          issuedAt: 1,
          notAfter: 2,
          revokedAt: null,
        })
        .run();
    };
    return { store, enroll, accepted: createAcceptedClients(store) };
  }

  it('answers repeated requests without asking the database, and a revoked SVID or node at once', () => {
    const { store, enroll, accepted } = setup();
    enroll('a', 'aa01');
    enroll('b', 'bb01');
    expect(accepted.authorize(client('a', 'aa01'))).toEqual({ ok: true });
    expect(accepted.authorize(client('b', 'bb01'))).toEqual({ ok: true });
    store.db.update(svids).set({ revokedAt: 5 }).where(eq(svids.serialHex, 'aa01')).run();
    expect(accepted.authorize(client('a', 'aa01'))).toMatchObject({ ok: false, reason: /aa01.*revoked/ });
    expect(accepted.authorize(client('b', 'bb01'))).toEqual({ ok: true });

    store.sqlite.prepare(`UPDATE nodes SET state = 'revoked' WHERE uid = 'default.b'`).run();
    expect(accepted.authorize(client('b', 'bb01'))).toMatchObject({
      ok: false,
      reason: /node default\.b was revoked/,
    });

    // Known decisions come from memory: with the database closed they are still answered, while a client
    // not seen yet needs the database.
    store.close();
    expect(accepted.authorize(client('b', 'bb01')).ok).toBe(false);
    expect(accepted.authorize(client('a', 'aa01')).ok).toBe(false);
    expect(() => accepted.authorize(client('c', 'cc01'))).toThrow(/not open/);
  });

  it('a renewed SVID is accepted, and the policy applies as soon as it changes', () => {
    const { store, enroll, accepted } = setup();
    enroll('a', 'aa01');
    expect(accepted.authorize(client('a', 'aa01'))).toEqual({ ok: true });
    // A new serial that is not recorded yet is refused (not enrolled, not allowed)...
    expect(accepted.authorize(client('a', 'aa02')).ok).toBe(false);
    // ...until the renewal records it.
    store.db
      .insert(svids)
      .values({
        serialHex: 'aa02',
        clientId: 'default.a',
        spiffeId: client('a').spiffeId,
        issuedAt: 3,
        notAfter: 9,
      })
      .run();
    expect(accepted.authorize(client('a', 'aa02'))).toEqual({ ok: true });
    expect(accepted.authorize(client('a', 'aa01'))).toEqual({ ok: true });

    store.db
      .insert(clientPolicy)
      .values({ pattern: `${TD}/client/*`, effect: 'deny', createdAt: 1 })
      .run();
    expect(accepted.authorize(client('a', 'aa02'))).toMatchObject({ ok: false, reason: /denied/ });
    store.db.delete(clientPolicy).run();
    expect(accepted.authorize(client('a', 'aa02'))).toEqual({ ok: true });

    // A client that is no node is accepted only by an allow rule.
    expect(accepted.authorize(client('tester', 'cc01')).ok).toBe(false);
    store.db
      .insert(clientPolicy)
      .values({ pattern: client('tester').spiffeId, effect: 'allow', createdAt: 1 })
      .run();
    expect(accepted.authorize(client('tester', 'cc01'))).toEqual({ ok: true });
  });

  it('a change committed by another connection is seen within the check interval', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-accepted-'));
    dirs.push(dir);
    const file = path.join(dir, 'db.sqlite');
    const { enroll, accepted } = setup(file);
    enroll('a', 'aa01');
    expect(accepted.authorize(client('a', 'aa01'))).toEqual({ ok: true });
    const other = openStore(file);
    stores.push(other);
    other.sqlite.prepare(`UPDATE svids SET revoked_at = 7 WHERE serial_hex = 'aa01'`).run();
    vi.advanceTimersByTime(CHECK_ELSEWHERE_MS);
    expect(accepted.authorize(client('a', 'aa01')).ok).toBe(false);
  });
});
