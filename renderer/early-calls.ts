/**
 * The console's first calls, asked before its scripts have loaded (ADR 0234). index.html loads a tiny
 * script first (renderer/early.ts, built on its own by vite.config.ts): in a browser, with a credential,
 * it asks the server who is signed in and, when the console opens on the Dashboard, the Dashboard's data,
 * while the browser still loads and runs the console (about half of a cold first view). The console's
 * HTTP transport then takes these answers (`withEarlyCalls`) instead of asking again.
 *
 * This module imports nothing: it is all the early script carries. The names it shares with
 * lib/contract's HTTP transport are checked against it by early-calls.test.ts.
 */

/** Where the web console keeps its API token (sessionStorage), see api.ts. */
export const TOKEN_KEY = 'outpost.token';
/** lib/contract's RPC_PREFIX and CLIENT_HEADER. */
const RPC_PREFIX = '/api/v1/rpc/';
const CLIENT_HEADER = 'x-outpost-client';
/** An early answer is taken only this soon after it was asked for; later calls ask anew. */
const EARLY_CALL_MAX_AGE_MS = 10_000;

/** The Dashboard's "what needs attention" query input (DashboardPage), asked early too. */
export const ATTENTION_INPUT = { limit: 50 };

export interface EarlyCall {
  channel: string;
  /** The JSON body sent, the input the transport must send for the answer to be taken. */
  body: string;
  token: string;
  /** performance.now() when asked. */
  at: number;
  response: Promise<Response>;
}

/** What the early script and the console use of `window` (a fake one in the tests). */
export interface EarlyWindow {
  location: { hash: string };
  sessionStorage: Pick<Storage, 'getItem'>;
  performance: { now(): number };
  fetch: typeof fetch;
  /** The desktop app's bridge: calls go through IPC there, never early HTTP. */
  outpost?: unknown;
  __outpostEarlyCalls?: EarlyCall[];
}

/** The API token in the URL fragment (`#token=...`, a link the server printed), if there is one. */
export function tokenInUrl(hash: string): string | null {
  const m = /[#&]token=([^&]+)/.exec(hash);
  return m?.[1] ? decodeURIComponent(m[1]) : null;
}

/** The headers the console's HTTP transport sends with a call (lib/contract/http-transport.ts). */
function callHeaders(token: string): Record<string, string> {
  return {
    accept: 'application/json, application/problem+json',
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
    [CLIENT_HEADER]: 'console',
  };
}

/**
 * Asks for the first calls' answers now (the early script). Nothing without a token (the console will
 * ask for one), in the desktop app, or when storage is refused.
 */
export function startEarlyCalls(win: EarlyWindow): void {
  if (win.outpost !== undefined) return;
  let token: string | null;
  let fromUrl: boolean;
  try {
    const inUrl = tokenInUrl(win.location.hash);
    fromUrl = inUrl !== null;
    token = inUrl ?? win.sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return;
  }
  if (!token) return;
  // A link with a token opens the Dashboard (api.ts replaces the fragment with `#/`).
  const route = fromUrl ? '/' : win.location.hash.replace(/^#/, '');
  const calls: [string, unknown][] = [['system.whoami', {}]];
  if (route === '' || route === '/') calls.push(['system.status', {}], ['health.attention', ATTENTION_INPUT]);
  win.__outpostEarlyCalls = calls.map(([channel, input]) => {
    const body = JSON.stringify(input);
    const response = win.fetch(RPC_PREFIX + channel, {
      method: 'POST',
      headers: callHeaders(token),
      body,
    });
    // Never taken (the console changed its mind): not an unhandled rejection.
    response.catch(() => undefined);
    return { channel, body, token, at: win.performance.now(), response };
  });
}

/**
 * The console transport's `fetch`: the first call of a channel with the same input and token as an early
 * call gets that call's answer (once); every other call goes to `doFetch`.
 */
export function withEarlyCalls(win: EarlyWindow, doFetch: typeof fetch): typeof fetch {
  return (input, init) => {
    const calls = win.__outpostEarlyCalls;
    if (calls && calls.length > 0 && init?.method === 'POST' && typeof init.body === 'string') {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const auth = (init.headers as Record<string, string> | undefined)?.authorization;
      const now = win.performance.now();
      const i = calls.findIndex(
        (c) =>
          url.endsWith(RPC_PREFIX + c.channel) &&
          c.body === init.body &&
          auth === `Bearer ${c.token}` &&
          now - c.at < EARLY_CALL_MAX_AGE_MS,
      );
      if (i >= 0) return calls.splice(i, 1)[0]!.response;
    }
    return doFetch(input, init);
  };
}
