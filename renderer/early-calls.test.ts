import { describe, expect, it } from 'vitest';
import { CLIENT_HEADER, RPC_PREFIX, createHttpTransport } from '../lib/contract/index.js';
import { ATTENTION_INPUT, startEarlyCalls, withEarlyCalls, type EarlyWindow } from './early-calls.js';

interface Sent {
  url: string;
  init: RequestInit;
}

/** A window whose fetch records what it was asked and answers each channel with its name. */
function fakeWindow(hash: string, stored: string | null = null, extra: Partial<EarlyWindow> = {}) {
  const sent: Sent[] = [];
  let now = 0;
  const win: EarlyWindow & { sent: Sent[]; advance(ms: number): void } = {
    location: { hash },
    sessionStorage: { getItem: (k) => (k === 'outpost.token' ? stored : null) },
    performance: { now: () => now },
    fetch: (input, init) => {
      const url = String(input);
      sent.push({ url, init: init ?? {} });
      const channel = url.slice(url.indexOf(RPC_PREFIX) + RPC_PREFIX.length);
      return Promise.resolve(
        new Response(JSON.stringify({ channel, n: sent.length }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        }),
      );
    },
    sent,
    advance: (ms) => (now += ms),
    ...extra,
  };
  return win;
}

describe('early calls', () => {
  it('asks for the sign-in check and the Dashboard data with the token from the link', () => {
    const win = fakeWindow('#token=abc%2Fdef');
    startEarlyCalls(win);
    expect(win.sent.map((s) => s.url)).toEqual([
      `${RPC_PREFIX}system.whoami`,
      `${RPC_PREFIX}system.status`,
      `${RPC_PREFIX}health.attention`,
    ]);
    const h = win.sent[0]!.init.headers as Record<string, string>;
    expect(h.authorization).toBe('Bearer abc/def');
    expect(h[CLIENT_HEADER]).toBe('console');
    expect(win.sent[2]!.init.body).toBe(JSON.stringify(ATTENTION_INPUT));
  });

  it('asks only who is signed in on another page, and nothing without a token or in the desktop app', () => {
    const other = fakeWindow('#/sites', 'stored');
    startEarlyCalls(other);
    expect(other.sent.map((s) => s.url)).toEqual([`${RPC_PREFIX}system.whoami`]);

    const none = fakeWindow('#/');
    startEarlyCalls(none);
    expect(none.sent).toEqual([]);
    expect(none.__outpostEarlyCalls).toBeUndefined();

    const desktop = fakeWindow('#/', 'stored', { outpost: {} });
    startEarlyCalls(desktop);
    expect(desktop.sent).toEqual([]);
  });

  it('gives the transport the early answer once, for the same channel, input and token only', async () => {
    const win = fakeWindow('', 'tok');
    startEarlyCalls(win);
    expect(win.sent).toHaveLength(3);
    const call = (token: string) =>
      createHttpTransport({
        baseUrl: 'http://127.0.0.1:1',
        token,
        client: 'console',
        fetch: withEarlyCalls(win, win.fetch),
      });
    const t = call('tok');
    // The early answers: nothing new is sent.
    expect(await t.invoke('system.status', {})).toEqual({ channel: 'system.status', n: 2 });
    expect(await t.invoke('health.attention', ATTENTION_INPUT)).toEqual({
      channel: 'health.attention',
      n: 3,
    });
    expect(win.sent).toHaveLength(3);
    // Taken once: the next call of the channel asks the server.
    expect(await t.invoke('system.status', {})).toEqual({ channel: 'system.status', n: 4 });
    // Another token, or another input, is not given the early answer.
    expect(await call('other').invoke('system.whoami', {})).toEqual({ channel: 'system.whoami', n: 5 });
    expect(await t.invoke('system.whoami', { x: 1 })).toEqual({ channel: 'system.whoami', n: 6 });
    expect(await t.invoke('system.whoami', {})).toEqual({ channel: 'system.whoami', n: 1 });
    expect(win.sent).toHaveLength(6);
  });

  it('does not give an answer asked for long ago', async () => {
    const win = fakeWindow('#/', 'tok');
    startEarlyCalls(win);
    win.advance(60_000);
    const t = createHttpTransport({
      baseUrl: 'http://127.0.0.1:1',
      token: 'tok',
      client: 'console',
      fetch: withEarlyCalls(win, win.fetch),
    });
    expect(await t.invoke('system.whoami', {})).toEqual({ channel: 'system.whoami', n: 4 });
  });
});
