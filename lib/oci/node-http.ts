import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import type { HttpResponse, RequestBody } from './transport.js';

export interface NodeHttpOptions {
  timeoutMs: number;
  ca?: string;
  clientCertificate?: { certPem: string; keyPem: string };
}

type Init = { method: string; headers: Record<string, string>; body?: RequestBody; signal?: AbortSignal };

/**
 * The transport's requests with node:http and node:https (kept connections): for a long-lived process
 * that pulls now and then (the edge agent, ADR 0543), where undici's code and its WebAssembly HTTP parser
 * would stay in memory after the first pull. Timeouts: connecting and every pause of the socket
 * (`ETIMEDOUT`); errors are Node's, which `networkError` understands.
 */
export function nodeHttpSender(o: NodeHttpOptions): {
  send(url: string, init: Init): Promise<HttpResponse>;
  close(): void;
} {
  let plain: HttpAgent | undefined;
  let secure: HttpsAgent | undefined;
  const agents = async (https: boolean) => {
    if (https) {
      const m = await import('node:https');
      secure ??= new m.Agent({
        keepAlive: true,
        ...(o.ca ? { ca: [...tls.rootCertificates, o.ca] } : {}),
        ...(o.clientCertificate
          ? { cert: o.clientCertificate.certPem, key: o.clientCertificate.keyPem }
          : {}),
      });
      return { request: m.request, agent: secure };
    }
    const m = await import('node:http');
    plain ??= new m.Agent({ keepAlive: true });
    return { request: m.request, agent: plain };
  };
  return {
    async send(url, init) {
      const u = new URL(url);
      const { request, agent } = await agents(u.protocol === 'https:');
      return new Promise<HttpResponse>((resolve, reject) => {
        const req = request(u, {
          method: init.method,
          headers: init.headers,
          agent,
          timeout: o.timeoutMs,
          ...(init.signal ? { signal: init.signal } : {}),
        });
        req.on('timeout', () =>
          req.destroy(Object.assign(new Error(`no answer for ${o.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        );
        req.on('error', reject);
        req.on('response', (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            headers: {
              get(name) {
                const v = res.headers[name.toLowerCase()];
                return v === undefined ? null : Array.isArray(v) ? v.join(', ') : String(v);
              },
            },
            body: res,
            discard: () =>
              new Promise<void>((done) => {
                if (res.complete || res.destroyed) return done();
                res
                  .once('end', done)
                  .once('close', done)
                  .once('error', () => done());
                res.resume();
              }),
          });
        });
        const body = init.body;
        if (body === undefined) req.end();
        else if (typeof body === 'string' || body instanceof Uint8Array) req.end(body);
        else {
          (body as Readable).once('error', (e) => req.destroy(e));
          (body as Readable).pipe(req);
        }
      });
    },
    close() {
      plain?.destroy();
      secure?.destroy();
      plain = undefined;
      secure = undefined;
    },
  };
}
