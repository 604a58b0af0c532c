import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { createConsoleHttp } from './console-http.js';
import { startTestCore } from '../../test/helpers/core.js';
import { createClient, createHttpTransport, contract } from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import type { Core } from '../create-core.js';
import { waitFor } from '../../test/helpers/wait.js';

const TOKEN = 'opt_test-token-123';

describe('console HTTP binder', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let app: FastifyInstance;
  let base: string;
  let core: Core;

  beforeAll(async () => {
    t = await startTestCore({ bootstrapToken: TOKEN });
    core = t.core;
    app = await createConsoleHttp({ core, maxBodyBytes: 64 * 1024 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await t.stop();
  });

  const post = (channel: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/v1/rpc/${channel}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
      body,
    });

  it('serves the contract to a typed client', async () => {
    const client = createClient(contract, createHttpTransport({ baseUrl: base, token: TOKEN }));
    const s = await client.system.status({});
    expect(s.product).toBe('Outpost');
    expect(s.version).toBe('0.0.0-test');
    expect(s.tenant).toBe('default');
    expect(s.roles).toEqual(['co', 'lo']);
  });

  it('refuses a request without a token with 401 problem+json', async () => {
    const res = await fetch(`${base}/api/v1/rpc/system.status`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const p = (await res.json()) as { code: string; status: number; detail: string };
    expect(p).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(p.detail).toContain('bearer token');
  });

  it('refuses a wrong token', async () => {
    const res = await post('system.status', '{}', { authorization: 'Bearer nope' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { detail: string }).detail).toBe('the API token is not valid');
  });

  it('answers an unknown route with 404 problem+json', async () => {
    const res = await fetch(`${base}/api/v1/nothing-here`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { code: string }).code).toBe('route-not-found');
    const op = await post('system.nothing', '{}');
    expect(op.status).toBe(404);
    expect(((await op.json()) as { detail: string }).detail).toBe('unknown operation "system.nothing"');
  });

  it('answers a malformed body with 400 naming the problem', async () => {
    const res = await post('system.audit', '{"limit": ');
    expect(res.status).toBe(400);
    const p = (await res.json()) as { code: string; errors: { field: string }[] };
    expect(p.code).toBe('invalid-input');
    expect(p.errors[0]!.field).toBe('(body)');
  });

  it('answers an invalid field with 400 naming the field', async () => {
    const res = await post('system.audit', JSON.stringify({ limit: 5000 }));
    expect(res.status).toBe(400);
    const p = (await res.json()) as {
      code: string;
      detail: string;
      errors: { field: string; message: string }[];
    };
    expect(p.code).toBe('invalid-input');
    expect(p.errors.map((e) => e.field)).toEqual(['limit']);
    expect(p.detail).toMatch(/^system\.audit: limit: /);
    const unknown = await post('system.audit', JSON.stringify({ limit: 5, colour: 'red' }));
    expect(((await unknown.json()) as { detail: string }).detail).toContain('unknown field "colour"');
  });

  it('rebuilds errors with their code on the client side', async () => {
    const client = createClient(contract, createHttpTransport({ baseUrl: base, token: TOKEN }));
    const err = await client.system.status({}, { tenant: 'no-such-tenant' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('not-found');
    expect((err as OutpostError).status).toBe(404);
    expect((err as OutpostError).message).toBe('tenant "no-such-tenant" was not found');
  });

  it('serves queries over GET and refuses commands over GET', async () => {
    const res = await fetch(`${base}/api/v1/rpc/system.audit?input=${encodeURIComponent('{"limit":3}')}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { entries: unknown[] }).entries).toBeInstanceOf(Array);
    const before = (await core.client().sites.list({})).sites.length;
    const cmd = await fetch(`${base}/api/v1/rpc/sites.add?input=${encodeURIComponent('{"id":"by-get"}')}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(cmd.status).toBe(405);
    expect(cmd.headers.get('content-type')).toContain('application/problem+json');
    expect(await cmd.json()).toMatchObject({
      code: 'method-not-allowed',
      detail: 'sites.add changes state: use POST',
    });
    expect((await core.client().sites.list({})).sites.length).toBe(before);
  });

  it('refuses an oversized body with 413', async () => {
    const res = await post('system.audit', JSON.stringify({ limit: 5, pad: 'x'.repeat(100 * 1024) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe('payload-too-large');
  });

  it('streams events to subscribers of the right tenant', async () => {
    const transport = createHttpTransport({ baseUrl: base, token: TOKEN });
    const got: unknown[] = [];
    // System-wide events (tenantId null, e.g. the bus's presence) reach every subscriber; ignore them here.
    const stop = transport.subscribe!((e) => {
      if ((e as { tenantId?: string | null }).tenantId !== null) got.push(e);
    });
    // wait until the server has registered the subscriber (a condition with a generous deadline)
    await waitFor(() => core.events.listenerCount > 0, 'the stream to listen');
    core.events.changed('other-tenant', 'apps');
    core.events.changed('default', 'apps');
    await waitFor(() => got.length > 0, 'an event on the stream');
    stop();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ type: 'changed', tenantId: 'default', data: { topics: ['apps'] } });
  });
});

describe('the audit source of HTTP calls (ADR 0232)', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    t = await startTestCore({ bootstrapToken: TOKEN });
    app = await createConsoleHttp({ core: t.core, maxBodyBytes: 64 * 1024 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await t.stop();
  });

  it('records console, cli or api as the client says, and filters by it', async () => {
    const as = (client?: 'console' | 'cli') =>
      createClient(contract, createHttpTransport({ baseUrl: base, token: TOKEN, client }));
    const topics: string[] = [];
    const off = t.core.events.subscribe((e) => {
      if (e.type === 'changed') topics.push(...e.data.topics);
    });
    await as('console').sites.add({ id: 'from-console' });
    await as('cli').sites.add({ id: 'from-cli' });
    await as().sites.add({ id: 'from-script' });
    // A client naming itself something else is just an API client.
    const res = await fetch(`${base}/api/v1/rpc/sites.add`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${TOKEN}`,
        'x-outpost-client': 'agent',
      },
      body: JSON.stringify({ id: 'from-liar' }),
    });
    expect(res.status).toBe(200);
    off();
    // Each new entry announces the audit topic (open audit pages refetch).
    expect(topics.filter((x) => x === 'audit').length).toBeGreaterThanOrEqual(4);

    const api = as('console');
    const all = await api.system.audit({ action: 'sites.add' });
    expect(all.entries.map((e) => [e.target, e.source])).toEqual([
      ['site/from-liar', 'api'],
      ['site/from-script', 'api'],
      ['site/from-cli', 'cli'],
      ['site/from-console', 'console'],
    ]);
    const cli = await api.system.audit({ action: 'sites.add', source: 'cli' });
    expect(cli.total).toBe(1);
    expect(cli.entries[0]!.target).toBe('site/from-cli');
    await expect(api.system.audit({ source: 'elsewhere' as never })).rejects.toMatchObject({
      code: 'invalid-input',
    });
  });
});
