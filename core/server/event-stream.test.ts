import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { createConsoleHttp } from './console-http.js';
import { startTestCore } from '../../test/helpers/core.js';
import { EVENTS_PATH, EVENTS_TICKET_PATH, readSse } from '../../lib/contract/index.js';
import type { Core } from '../create-core.js';
import { waitFor } from '../../test/helpers/wait.js';

const ADMIN = 'opt_event-stream-admin';

/** An open event stream: the events it got, and whether the server ended it. */
function openStream(res: Response) {
  const got: { type: string; tenantId: string | null }[] = [];
  let ended = false;
  void readSse(res.body!, (d) => got.push(JSON.parse(d) as (typeof got)[number]))
    .catch(() => undefined)
    .finally(() => (ended = true));
  return { got, ended: () => ended };
}

/**
 * The event stream and credentials (leak 6 of issue 17, ADR 0523): a token is never accepted in a URL
 * (it ends up in histories and proxies), a short-lived one-time ticket is; a stream lives only as long
 * as its token.
 */
describe('the event stream', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let app: FastifyInstance;
  let base: string;
  let core: Core;
  const ctrls: AbortController[] = [];
  const get = (url: string, headers: Record<string, string> = {}) => {
    const c = new AbortController();
    ctrls.push(c);
    return fetch(base + url, { headers: { accept: 'text/event-stream', ...headers }, signal: c.signal });
  };
  const token = async (roles: ('viewer' | 'tenant-admin')[], by = ADMIN, ttlSeconds?: number) => {
    const res = await fetch(`${base}/api/v1/rpc/tenants.createToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${by}` },
      body: JSON.stringify({ name: 'stream', roles, ...(ttlSeconds ? { ttlSeconds } : {}) }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { token: string; info: { id: string } };
  };

  beforeAll(async () => {
    t = await startTestCore({ bootstrapToken: ADMIN });
    core = t.core;
    app = await createConsoleHttp({ core, maxBodyBytes: 64 * 1024 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const c of ctrls) c.abort();
    await app.close();
    await t.stop();
  });

  it('never accepts an API token in the URL', async () => {
    const { token: viewer } = await token(['viewer']);
    for (const q of [`token=${viewer}`, `token=${ADMIN}`, `access_token=${ADMIN}`]) {
      const res = await get(`${EVENTS_PATH}?${q}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(((await res.json()) as { detail: string }).detail).toMatch(/never accepted in a URL.*ticket/);
    }
    // not on the API either, even with a valid header besides
    const rpc = await fetch(`${base}/api/v1/rpc/system.status?token=${viewer}`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(rpc.status).toBe(401);
  });

  it('opens with a one-time ticket, once', async () => {
    const { token: viewer } = await token(['viewer']);
    const noAuth = await fetch(base + EVENTS_TICKET_PATH, { method: 'POST' });
    expect(noAuth.status).toBe(401);
    const tr = await fetch(base + EVENTS_TICKET_PATH, {
      method: 'POST',
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(tr.status).toBe(200);
    const { ticket, expiresAt } = (await tr.json()) as { ticket: string; expiresAt: number };
    expect(ticket).toMatch(/^opk_/);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(30_000);
    const listeners = core.events.listenerCount;
    const res = await get(`${EVENTS_PATH}?ticket=${encodeURIComponent(ticket)}`);
    expect(res.status).toBe(200);
    const s = openStream(res);
    await waitFor(() => core.events.listenerCount > listeners, { what: 'the subscriber', timeoutMs: 20_000 });
    core.events.changed('other', 'apps');
    core.events.changed('default', 'apps');
    await waitFor(() => s.got.some((e) => e.tenantId === 'default'), {
      what: 'the event',
      timeoutMs: 20_000,
    });
    expect(s.got.some((e) => e.tenantId === 'other')).toBe(false);
    const again = await get(`${EVENTS_PATH}?ticket=${encodeURIComponent(ticket)}`);
    expect(again.status).toBe(401);
    expect(await get(`${EVENTS_PATH}?ticket=opk_made-up`).then((r) => r.status)).toBe(401);
  });

  it('ends the open streams of a revoked token and of the tokens it made', async () => {
    const parent = await token(['tenant-admin']);
    const child = await token(['viewer'], parent.token);
    const listeners = core.events.listenerCount;
    const a = openStream(await get(EVENTS_PATH, { authorization: `Bearer ${parent.token}` }));
    const b = openStream(await get(EVENTS_PATH, { authorization: `Bearer ${child.token}` }));
    await waitFor(() => core.events.listenerCount >= listeners + 2, {
      what: 'both subscribers',
      timeoutMs: 20_000,
    });
    const r = await fetch(`${base}/api/v1/rpc/tenants.revokeToken`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ id: parent.info.id }),
    });
    expect(((await r.json()) as { alsoRevoked: string[] }).alsoRevoked).toEqual([child.info.id]);
    await waitFor(() => a.ended() && b.ended(), { what: 'both streams to end', timeoutMs: 20_000 });
    expect(core.events.listenerCount).toBe(listeners);
    const after = await get(EVENTS_PATH, { authorization: `Bearer ${child.token}` });
    expect(after.status).toBe(401);
  });

  it('ends a stream when its token expires', async () => {
    const short = await token(['viewer'], ADMIN, 1);
    const res = await get(EVENTS_PATH, { authorization: `Bearer ${short.token}` });
    expect(res.status).toBe(200);
    const s = openStream(res);
    await waitFor(() => s.ended(), { what: 'the stream to end at expiry', timeoutMs: 20_000 });
    const after = await get(EVENTS_PATH, { authorization: `Bearer ${short.token}` });
    expect(after.status).toBe(401);
  });
});
