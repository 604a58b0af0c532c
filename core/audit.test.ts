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
      action: 'test.one',
      result: 'ok',
      input: { a: 1 },
    });
    t.core.audit.record({
      tenantId: 'other',
      actor: 'token:x',
      transport: 'http',
      action: 'test.two',
      result: 'error',
      errorCode: 'conflict',
    });
    t.core.audit.record({
      tenantId: 'default',
      actor: 'operator:local',
      transport: 'inproc',
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
