import {
  contract,
  type Contract,
  createClient,
  createHttpTransport,
  createIpcTransport,
  type OutpostBridge,
  type ClientTransport,
  type ClientOf,
} from '../lib/contract/index.js';

/**
 * The renderer only knows the contract. In Electron the preload exposes `window.outpost` (IPC);
 * in a browser the same pages talk HTTP to the server that served them, with the token taken from
 * the URL fragment (`#token=...`) once and kept in sessionStorage.
 */
declare global {
  interface Window {
    outpost?: OutpostBridge;
  }
}

const TOKEN_KEY = 'outpost.token';

function takeTokenFromUrl(): string | null {
  const m = /[#&]token=([^&]+)/.exec(window.location.hash);
  if (m?.[1]) {
    const token = decodeURIComponent(m[1]);
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
    transport: createHttpTransport({ baseUrl: window.location.origin, token: token ?? undefined }),
    mode: 'web',
    hasToken: token !== null,
  };
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  window.location.reload();
}

const { transport, mode, hasToken } = createTransport();
export const api: ClientOf<Contract> = createClient(contract, transport);
export const apiTransport = transport;
export const apiMode = mode;
export const apiHasToken = hasToken;
