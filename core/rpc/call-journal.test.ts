import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openStore, type Store } from '../store/db.js';
import { createAuditLog } from '../audit.js';
import { systemClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import {
  command,
  defineService,
  query,
  type CallContext,
  type HandlersOf,
} from '../../lib/contract/index.js';
import { createDispatcher, type Dispatcher } from './dispatcher.js';
import { createCallJournal } from './call-journal.js';
import { OutpostError } from '../../lib/errors/index.js';
import { tempHome } from '../../test/helpers/home.js';

/**
 * The call journal with a tiny contract on a real SQLite file: a command's audit row is committed in
 * the transaction of its change, and an Idempotency-Key makes a retry return the first answer.
 */
const things = defineService('things', {
  make: command({
    roles: ['viewer'],
    summary: 'make a thing',
    input: z.object({ name: z.string(), fail: z.enum(['before', 'after']).optional() }).strict(),
    output: z.object({ id: z.string(), name: z.string() }),
    replay: (_i, ref) => (ref ? { channel: 'things.get', input: { id: ref } } : undefined),
  }),
  secret: command({
    roles: ['viewer'],
    summary: 'make a secret',
    input: z.object({ name: z.string() }).strict(),
    output: z.object({ secret: z.string() }),
    secretResult: true,
  }),
  touch: command({
    roles: ['viewer'],
    summary: 'a command that writes nothing in the database',
    input: z.object({}).strict(),
    output: z.object({ ok: z.boolean() }),
  }),
  get: query({
    roles: ['viewer'],
    summary: 'one thing',
    input: z.object({ id: z.string() }).strict(),
    output: z.object({ id: z.string(), name: z.string() }),
  }),
});
const contract = { things };

describe('call journal', () => {
  let home: ReturnType<typeof tempHome>;
  let store: Store;
  let dispatcher: Dispatcher;
  /** Lets a test hold a handler between its commit and its answer. */
  let gate: Promise<void> = Promise.resolve();
  let made = 0;

  beforeEach(() => {
    made = 0;
    gate = Promise.resolve();
    home = tempHome('outpost-journal-');
    store = openStore(`${home.home}/outpost.db`);
    store.sqlite.exec('CREATE TABLE things (id TEXT PRIMARY KEY, name TEXT NOT NULL)');
    const audit = createAuditLog(store, systemClock);
    const row = (id: string) =>
      store.sqlite.prepare('SELECT id, name FROM things WHERE id = ?').get(id) as
        { id: string; name: string } | undefined;
    const handlers: HandlersOf<typeof contract> = {
      things: {
        async make(input, ctx) {
          if (input.fail === 'before') throw new OutpostError('conflict', 'refused before any change');
          const id = `t${++made}`;
          ctx.noteResultRef?.(id);
          store.tx(() => store.sqlite.prepare('INSERT INTO things VALUES (?, ?)').run(id, input.name));
          await gate;
          if (input.fail === 'after') throw new Error('the publication after the commit failed');
          return row(id)!;
        },
        async secret(input) {
          store.tx(() =>
            store.sqlite.prepare('INSERT INTO things VALUES (?, ?)').run(`s${++made}`, input.name),
          );
          return { secret: `secret-${made}` };
        },
        async touch() {
          return { ok: true };
        },
        async get(input) {
          const r = row(input.id);
          if (!r) throw new OutpostError('not-found', input.id);
          return r;
        },
      },
    };
    dispatcher = createDispatcher({
      contract,
      handlers,
      audit,
      journal: createCallJournal({ store, audit, clock: systemClock }),
      logger: silentLogger(),
      clock: systemClock,
    });
  });
  afterEach(() => {
    store.close();
    home.cleanup();
  });

  const ctx = (key?: string, actor = 'operator:local'): CallContext => ({
    principal: { id: actor, name: actor, tenantId: 'default', roles: ['admin'] },
    tenantId: 'default',
    transport: 'inproc',
    source: 'api',
    requestId: 'r1',
    signal: new AbortController().signal,
    ...(key ? { idempotencyKey: key } : {}),
  });
  const count = (table: string) =>
    (store.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  const auditRows = () =>
    store.sqlite.prepare('SELECT action, result, error_code AS errorCode FROM audit ORDER BY seq').all();

  it('commits the audit row with the change, before the call answers', async () => {
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const answer = dispatcher.call('things.make', { name: 'a' }, ctx());
    // The handler waits after its commit: the change and its audit row are both in the database.
    while (count('things') === 0) await new Promise((r) => setImmediate(r));
    expect(auditRows()).toEqual([{ action: 'things.make', result: 'ok', errorCode: null }]);
    open();
    await answer;
    expect(auditRows()).toHaveLength(1);
  });

  it('writes no ok row for a change that rolled back, and audits the refusal', async () => {
    await expect(dispatcher.call('things.make', { name: 'x', fail: 'before' }, ctx())).rejects.toThrow(
      /refused/,
    );
    expect(count('things')).toBe(0);
    expect(auditRows()).toEqual([{ action: 'things.make', result: 'error', errorCode: 'conflict' }]);
  });

  it('rolls the change back when its audit row cannot be written', async () => {
    store.sqlite.exec(
      `CREATE TRIGGER audit_full BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'no room for the audit row'); END`,
    );
    await expect(dispatcher.call('things.make', { name: 'a' }, ctx())).rejects.toThrow(/no room/);
    expect(count('things')).toBe(0);
  });

  it('audits a command that changed nothing in the database when it returns', async () => {
    await dispatcher.call('things.touch', {}, ctx());
    expect(auditRows()).toEqual([{ action: 'things.touch', result: 'ok', errorCode: null }]);
  });

  it('answers a retry with the same key from the first call, without a second change', async () => {
    const first = await dispatcher.call('things.make', { name: 'a' }, ctx('k-1'));
    const again = await dispatcher.call('things.make', { name: 'a' }, ctx('k-1'));
    expect(again).toEqual(first);
    expect(count('things')).toBe(1);
    expect(auditRows()).toHaveLength(1);
    // Another key is another change.
    await dispatcher.call('things.make', { name: 'a' }, ctx('k-2'));
    expect(count('things')).toBe(2);
  });

  it('makes a retry that arrives while the first call runs wait for its answer', async () => {
    let open!: () => void;
    gate = new Promise((r) => (open = r));
    const first = dispatcher.call('things.make', { name: 'a' }, ctx('k-1'));
    while (count('things') === 0) await new Promise((r) => setImmediate(r));
    const retry = dispatcher.call('things.make', { name: 'a' }, ctx('k-1'));
    open();
    expect(await retry).toEqual(await first);
    expect(count('things')).toBe(1);
  });

  it('refuses the same key for other input, another operation or another caller', async () => {
    await dispatcher.call('things.make', { name: 'a' }, ctx('k-1'));
    for (const [channel, input, actor] of [
      ['things.make', { name: 'b' }, 'operator:local'],
      ['things.secret', { name: 'a' }, 'operator:local'],
      ['things.make', { name: 'a' }, 'token:other'],
    ] as const) {
      const err = await dispatcher.call(channel, input, ctx('k-1', actor)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'idempotency-key-reused', status: 422 });
    }
    expect(count('things')).toBe(1);
  });

  it('refuses a malformed key', async () => {
    for (const key of ['has space', 'x'.repeat(201), 'tab\there', 'é'])
      await expect(dispatcher.call('things.make', { name: 'a' }, ctx(key))).rejects.toMatchObject({
        code: 'invalid-input',
      });
    expect(count('things')).toBe(0);
  });

  it('answers a committed call whose answer was lost with the current state of what it made', async () => {
    // The process died between the commit and the answer: the key's row has no result.
    await dispatcher.call('things.make', { name: 'a' }, ctx('k-1'));
    store.sqlite.prepare('UPDATE idempotency_keys SET result = NULL').run();
    expect(await dispatcher.call('things.make', { name: 'a' }, ctx('k-1'))).toEqual({ id: 't1', name: 'a' });
    expect(count('things')).toBe(1);
  });

  it('answers success for a change committed before a later step failed', async () => {
    const out = await dispatcher.call('things.make', { name: 'a', fail: 'after' }, ctx('k-1'));
    expect(out).toEqual({ id: 't1', name: 'a' });
    expect(auditRows()).toEqual([{ action: 'things.make', result: 'ok', errorCode: null }]);
  });

  it('never keeps a secret answer; a retry is told the call was done', async () => {
    const first = (await dispatcher.call('things.secret', { name: 'a' }, ctx('k-s'))) as { secret: string };
    const kept = store.sqlite.prepare('SELECT result FROM idempotency_keys').all() as { result: unknown }[];
    expect(kept).toEqual([{ result: null }]);
    expect(JSON.stringify(store.sqlite.prepare('SELECT * FROM idempotency_keys').all())).not.toContain(
      first.secret,
    );
    await expect(dispatcher.call('things.secret', { name: 'a' }, ctx('k-s'))).rejects.toMatchObject({
      code: 'idempotency-in-doubt',
    });
    expect(count('things')).toBe(1);
  });
});
