import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCore } from '../test/helpers/core.js';

describe('audit log', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  beforeAll(async () => {
    t = await startTestCore();
  });
  afterAll(async () => t.stop());

  it('records entries and lists them per tenant, newest first', () => {
    t.core.audit.record({
      tenantId: 'default',
      actor: 'operator:local',
      transport: 'inproc',
      source: 'api',
      action: 'test.one',
      result: 'ok',
      input: { a: 1 },
    });
    t.core.audit.record({
      tenantId: 'other',
      actor: 'token:x',
      transport: 'http',
      source: 'cli',
      action: 'test.two',
      result: 'error',
      errorCode: 'conflict',
    });
    t.core.audit.record({
      tenantId: 'default',
      actor: 'operator:local',
      transport: 'inproc',
      source: 'api',
      action: 'test.three',
      result: 'ok',
    });
    const list = t.core.audit.list('default', { limit: 10 });
    expect(list.map((e) => e.action)).toEqual(['test.three', 'test.one']);
    expect(list[1]!.input).toEqual({ a: 1 });
    expect(t.core.audit.list('other', { limit: 10 }).map((e) => e.errorCode)).toEqual(['conflict']);
  });

  it('is append-only at the database level', () => {
    expect(() => t.core.store.sqlite.prepare("UPDATE audit SET actor = 'mallory'").run()).toThrow(
      /append-only/,
    );
    expect(() => t.core.store.sqlite.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    expect(t.core.audit.list('default', { limit: 10 }).every((e) => e.actor === 'operator:local')).toBe(true);
  });

  it('truncates huge inputs instead of bloating the log', () => {
    t.core.audit.record({
      tenantId: 'default',
      actor: 'a',
      transport: 'inproc',
      source: 'api',
      action: 'test.big',
      result: 'ok',
      input: { s: 'x'.repeat(100_000) },
    });
    const e = t.core.audit.list('default', { limit: 1, action: 'test.big' })[0]!;
    expect(JSON.stringify(e.input).length).toBeLessThan(5000);
    expect(e.input).toMatchObject({ truncated: true });
  });

  it('keeps an uploaded file as its name, size and digest, never its content', async () => {
    const content = 'secret-line: the text of an uploaded file\n'.repeat(10);
    const icon = Buffer.from('icon bytes').toString('base64');
    await t.core
      .client()
      .apps.add({
        source: {
          kind: 'upload',
          upload: { fileName: 'margo.yaml', content, resources: { 'icon.png': icon } },
        },
      })
      .catch(() => undefined);
    const e = t.core.audit.list('default', { limit: 1, action: 'apps.add' })[0]!;
    expect(JSON.stringify(e)).not.toContain('secret-line');
    expect(JSON.stringify(e)).not.toContain(icon);
    expect(e.input).toEqual({
      source: {
        kind: 'upload',
        upload: {
          fileName: 'margo.yaml',
          bytes: content.length,
          sha256: crypto.createHash('sha256').update(content).digest('hex'),
          resources: {
            'icon.png': { bytes: 10, sha256: crypto.createHash('sha256').update('icon bytes').digest('hex') },
          },
        },
      },
    });
  });
});

describe('audit log filters and paging', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  beforeAll(async () => {
    t = await startTestCore();
    for (let i = 0; i < 620; i++)
      t.core.audit.record({
        tenantId: 'default',
        actor: i % 2 ? 'token:ab12' : 'operator:local',
        transport: 'http',
        source: 'cli',
        action: i % 3 ? 'nodes.label' : 'nodes.cordon',
        target: `node/n${i % 7}`,
        result: i % 10 === 0 ? 'error' : 'ok',
        ...(i % 10 === 0 ? { errorCode: 'not-found', errorMessage: `node "x_${i}%" was not found` } : {}),
        input: { name: `n${i % 7}` },
      });
  });
  afterAll(async () => t.stop());

  it('pages beyond 500 entries and counts every match', async () => {
    const c = t.core.client();
    const first = await c.system.audit({ limit: 500 });
    expect(first.total).toBe(620);
    const rest = await c.system.audit({ limit: 500, offset: 500 });
    expect(rest.entries).toHaveLength(120);
    expect(rest.entries[0]!.seq).toBe(first.entries[499]!.seq - 1);
  });

  it('filters by action, target, result and text, in the database', async () => {
    const c = t.core.client();
    const errors = await c.system.audit({ limit: 1000, result: 'error' });
    expect(errors.total).toBe(62);
    expect(errors.entries.every((e) => e.result === 'error')).toBe(true);
    const n3 = await c.system.audit({ limit: 1000, target: 'node/n3', action: 'nodes.cordon' });
    expect(n3.entries.every((e) => e.target === 'node/n3' && e.action === 'nodes.cordon')).toBe(true);
    expect(n3.total).toBe(n3.entries.length);
    // % and _ in the search text match themselves, not any text.
    const literal = await c.system.audit({ limit: 10, search: 'X_30%' });
    expect(literal.entries.map((e) => e.errorMessage)).toEqual(['node "x_30%" was not found']);
    expect((await c.system.audit({ limit: 10, search: '%' })).total).toBe(62);
    expect((await c.system.audit({ limit: 10, search: 'AB12' })).total).toBe(310);
  });
});
