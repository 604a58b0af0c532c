import http from 'node:http';

/**
 * The part of `fetch` the console API's HTTP transport uses (one request, its status and its text), made
 * with node:http. Node's own `fetch` loads undici and compiles its WASM HTTP parser on first use: about
 * 100 ms of CPU, more than the rest of a command's start (issue 18). HTTPS (a CO behind TLS) loads
 * node:https only then. Failures to connect reject as `fetch` does: a TypeError whose `cause` carries the
 * system error's `code`, which the transport turns into a one-line message.
 */

interface Init {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** What the transport reads of an answer. */
interface Answer {
  status: number;
  ok: boolean;
  statusText: string;
  text(): Promise<string>;
  json(): Promise<unknown>;
  body: null;
}

interface Client {
  request: typeof http.request;
  agent: http.Agent;
}
const clients = new Map<string, Client>();

async function clientFor(protocol: string): Promise<Client> {
  let c = clients.get(protocol);
  if (!c) {
    // Kept connections for commands that call more than once (`--wait`); idle ones do not hold the process.
    if (protocol === 'https:') {
      const https = await import('node:https');
      c = { request: https.request, agent: new https.Agent({ keepAlive: true }) };
    } else c = { request: http.request, agent: new http.Agent({ keepAlive: true }) };
    clients.set(protocol, c);
  }
  return c;
}

function send(url: URL, init: Init, { request, agent }: Client): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const fail = (cause: unknown) => reject(new TypeError('fetch failed', { cause }));
    const body = init.body === undefined ? undefined : Buffer.from(init.body);
    const r = request(
      url,
      {
        method: init.method ?? 'GET',
        headers: { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        agent,
        ...(init.signal ? { signal: init.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            statusText: res.statusMessage ?? '',
            text: () => Promise.resolve(text),
            json: () => Promise.resolve(JSON.parse(text) as unknown),
            body: null,
          });
        });
      },
    );
    r.on('error', (err) => (init.signal?.aborted ? reject(init.signal.reason) : fail(err)));
    r.end(body);
  });
}

/** A `fetch` for createHttpTransport: answers only what the transport reads (no streamed bodies). */
export const httpFetch = (async (input: string | URL, init: Init = {}) => {
  const url = new URL(String(input));
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${url.protocol}`) });
  return send(url, init, await clientFor(url.protocol));
}) as unknown as typeof fetch;
