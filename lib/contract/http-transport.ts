import { OutpostError } from '../errors/index.js';
import type { CallOptions, EventEnvelope } from './define.js';
import type { ClientTransport } from './client.js';

/**
 * HTTP transport for the console contract: `POST {baseUrl}/api/v1/rpc/<channel>` with a JSON body and a
 * bearer token; live events over server-sent events at `{baseUrl}/api/v1/events`. Uses only `fetch`,
 * so the same code runs in the browser (web portal) and in Node (edgectl).
 */
export interface HttpTransportOptions {
  baseUrl: string;
  token?: string | undefined;
  /** Per-call timeout in ms (default 30 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Which client this is, sent in `x-outpost-client` for the audit log's source (ADR 0232). */
  client?: 'console' | 'cli' | undefined;
}

export const RPC_PREFIX = '/api/v1/rpc/';
export const EVENTS_PATH = '/api/v1/events';
/** One-time tickets for the event stream, for clients that cannot send an Authorization header. */
export const EVENTS_TICKET_PATH = '/api/v1/events/tickets';
export const TENANT_HEADER = 'x-outpost-tenant';
/** The client naming itself (`console`, `cli`): the audit log's source of its calls (ADR 0232). */
export const CLIENT_HEADER = 'x-outpost-client';
/** The key that makes a retried command safe (IETF draft "The Idempotency-Key HTTP Header Field"). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';

const ANSWERED = Symbol.for('outpost.answered-by-server');

/**
 * True for an error the server answered with (problem+json), false for a failure to reach the server.
 * A `network-error` the server reports (it could not reach a git repository, say) is not "no server".
 */
export function isServerAnswer(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[ANSWERED] === true;
}

function answered(err: OutpostError): OutpostError {
  Object.defineProperty(err, ANSWERED, { value: true });
  return err;
}

export function createHttpTransport(options: HttpTransportOptions): ClientTransport {
  const base = options.baseUrl.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? 30_000;

  function headers(extra: Record<string, string>, tenant?: string): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json, application/problem+json', ...extra };
    if (options.token) h.authorization = `Bearer ${options.token}`;
    if (tenant) h[TENANT_HEADER] = tenant;
    if (options.client) h[CLIENT_HEADER] = options.client;
    return h;
  }

  return {
    async invoke(channel: string, input: unknown, callOptions?: CallOptions) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = callOptions?.signal ? AbortSignal.any([callOptions.signal, timeout]) : timeout;
      let res: Response;
      try {
        res = await doFetch(base + RPC_PREFIX + channel, {
          method: 'POST',
          headers: headers(
            {
              'content-type': 'application/json',
              ...(callOptions?.idempotencyKey ? { [IDEMPOTENCY_HEADER]: callOptions.idempotencyKey } : {}),
            },
            callOptions?.tenant,
          ),
          body: JSON.stringify(input ?? {}),
          signal,
        });
      } catch (cause) {
        if (callOptions?.signal?.aborted)
          throw new OutpostError('cancelled', `${channel} was cancelled`, { cause });
        if (timeout.aborted)
          throw new OutpostError('timeout', `no answer from ${base} within ${timeoutMs} ms`, { cause });
        const reason = describeNetworkError(cause);
        throw new OutpostError('network-error', `cannot reach the Outpost server at ${base}: ${reason}`, {
          cause,
        });
      }
      const text = await res.text();
      let body: unknown = undefined;
      if (text.length > 0) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new OutpostError(
            'network-error',
            `${base} answered ${res.status} with a body that is not JSON`,
          );
        }
      }
      if (!res.ok) throw answered(OutpostError.fromProblem(body ?? { title: res.statusText }, res.status));
      return body;
    },
    subscribe(onEvent: (e: EventEnvelope) => void, onError?: (err: unknown) => void) {
      const ctrl = new AbortController();
      void (async () => {
        try {
          const res = await doFetch(base + EVENTS_PATH, {
            headers: headers({ accept: 'text/event-stream' }),
            signal: ctrl.signal,
          });
          if (!res.ok || !res.body)
            throw OutpostError.fromProblem(await res.json().catch(() => ({})), res.status);
          await readSse(res.body, (data) => onEvent(JSON.parse(data) as EventEnvelope));
          if (!ctrl.signal.aborted) onError?.(new OutpostError('network-error', 'the event stream ended'));
        } catch (err) {
          if (!ctrl.signal.aborted) onError?.(err);
        }
      })();
      return () => ctrl.abort();
    },
  };
}

/** Reads `data:` lines of a server-sent event stream. */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onData: (data: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let data: string[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (data.length) onData(data.join('\n'));
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(5).replace(/^ /, ''));
      }
    }
  }
}

function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (is the server running?)';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}
