import {
  type Contract,
  createChannelClient,
  createHttpTransport,
  createIpcTransport,
  type OutpostBridge,
  type ClientTransport,
  type ClientOf,
} from '../lib/contract/index.js';
import { OutpostError } from '../lib/errors/index.js';
import { TOKEN_KEY, tokenInUrl, withEarlyCalls, type EarlyWindow } from './early-calls.js';

/**
 * The renderer only knows the contract. In Electron the preload exposes `window.outpost` (IPC) and the
 * person signs in to the window (an API token, or this computer's administrator); in a browser the same
 * pages talk HTTP to the server that served them, with a token typed in (or taken from the URL fragment
 * `#token=...` once) and kept in sessionStorage. Either way the calls run with that token's roles.
 */
declare global {
  interface Window {
    outpost?: OutpostBridge;
  }
}

function takeTokenFromUrl(): string | null {
  const token = tokenInUrl(window.location.hash);
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    window.history.replaceState(null, '', window.location.pathname + window.location.search + '#/');
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function createTransport(): {
  transport: ClientTransport;
  mode: 'desktop' | 'web';
  hasToken: boolean;
} {
  if (window.outpost)
    return { transport: createIpcTransport(window.outpost), mode: 'desktop', hasToken: true };
  const token = takeTokenFromUrl();
  return {
    transport: createHttpTransport({
      baseUrl: window.location.origin,
      token: token ?? undefined,
      client: 'console',
      // The first calls' answers may already be on their way (early-calls.ts).
      fetch: withEarlyCalls(window as unknown as EarlyWindow, window.fetch.bind(window)),
    }),
    mode: 'web',
    hasToken: token !== null,
  };
}

/** Signs in with an API token (checked first), then reloads the console with its roles. */
export async function signIn(token: string): Promise<void> {
  if (window.outpost) {
    const r = await window.outpost.session({ op: 'signIn', token });
    if (!r.ok) throw OutpostError.fromProblem(r.problem);
  } else {
    const probe = createChannelClient<Contract>(
      createHttpTransport({ baseUrl: window.location.origin, token }),
    );
    await probe.system.whoami({});
    sessionStorage.setItem(TOKEN_KEY, token);
  }
  window.location.reload();
}

/** Desktop only: signs in as this computer's administrator (when the desktop offers it). */
export async function signInLocal(): Promise<void> {
  if (!window.outpost) throw new OutpostError('forbidden', 'only the desktop app signs in without a token');
  const r = await window.outpost.session({ op: 'signInLocal' });
  if (!r.ok) throw OutpostError.fromProblem(r.problem);
  window.location.reload();
}

export async function signOut(): Promise<void> {
  if (window.outpost) await window.outpost.session({ op: 'signOut' });
  else sessionStorage.removeItem(TOKEN_KEY);
  window.location.reload();
}

const { transport, mode, hasToken } = createTransport();
// The channel client: calls by name, without the contract's schemas at run time (zod and every schema
// stayed out of the first script; the server checks every input anyway).
export const api: ClientOf<Contract> = createChannelClient<Contract>(transport);
export const apiTransport = transport;
export const apiMode = mode;
export const apiHasToken = hasToken;
