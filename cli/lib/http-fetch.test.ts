import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpTransport, isServerAnswer } from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { httpFetch } from './http-fetch.js';

let server: http.Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A real node:http server answering every request with `answer(method, url, headers, body)`. */
async function serve(
  answer: (req: http.IncomingMessage, body: string) => { status: number; body: string },
): Promise<string> {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const a = answer(req, body);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('httpFetch (the console API transport over node:http)', () => {
  it('sends the call (method, headers, JSON body) and returns the answer', async () => {
    const seen: { method?: string; url?: string; auth?: string; tenant?: string; body?: string }[] = [];
    const url = await serve((req, body) => {
      seen.push({
        method: req.method,
        url: req.url,
        auth: req.headers.authorization,
        tenant: req.headers['x-outpost-tenant'] as string | undefined,
        body,
      });
      return { status: 200, body: JSON.stringify({ version: '9.9.9' }) };
    });
    const t = createHttpTransport({ baseUrl: url, token: 'tok', fetch: httpFetch });
    await expect(t.invoke('system.status', { a: 1 }, { tenant: 'acme' })).resolves.toEqual({
      version: '9.9.9',
    });
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/api/v1/rpc/system.status',
        auth: 'Bearer tok',
        tenant: 'acme',
        body: '{"a":1}',
      },
    ]);
  });

  it('turns a problem answer into the OutpostError the server sent', async () => {
    const url = await serve(() => ({
      status: 404,
      body: JSON.stringify({
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        code: 'not-found',
        detail: 'no app "x"',
      }),
    }));
    const err = await createHttpTransport({ baseUrl: url, fetch: httpFetch })
      .invoke('apps.get', { id: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutpostError);
    expect((err as OutpostError).code).toBe('not-found');
    expect(isServerAnswer(err)).toBe(true);
  });

  it('reports a refused connection as fetch does, so the transport says the server is not running', async () => {
    const url = await serve(() => ({ status: 200, body: '{}' }));
    await new Promise<void>((r) => server!.close(() => r()));
    server = undefined;
    const err = await createHttpTransport({ baseUrl: url, fetch: httpFetch })
      .invoke('system.status', {})
      .catch((e: unknown) => e);
    expect((err as OutpostError).code).toBe('network-error');
    expect((err as OutpostError).message).toMatch(/connection refused/);
    expect(isServerAnswer(err)).toBe(false);
  });

  it('stops waiting when the call is cancelled', async () => {
    const url = await serve(() => ({ status: 200, body: '{}' }));
    server!.removeAllListeners('request');
    server!.on('request', () => undefined); // never answers
    const ctrl = new AbortController();
    const call = createHttpTransport({ baseUrl: url, fetch: httpFetch })
      .invoke('system.status', {}, { signal: ctrl.signal })
      .catch((e: unknown) => e);
    ctrl.abort();
    expect(((await call) as OutpostError).code).toBe('cancelled');
    server!.closeAllConnections();
  });

  it('refuses a URL that is not http or https', async () => {
    await expect(httpFetch('ftp://127.0.0.1/x')).rejects.toThrow(TypeError);
  });
});
