import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs, startTestServer, type TestServer } from '../../lib/base/testing.js';
import { startTcpRelay, type TcpRelay } from '../../test/helpers/tcp-relay.js';
import { freePort } from './ports.js';
import { waitFor } from '../../test/helpers/wait.js';

/**
 * Issue 19, defect 8 (ADR 0167): an LO that joins its CO through a relay keeps using the relay after the
 * link drops. Without an advertised leaf address the hub tells connected leaves an address of its own
 * choosing, and a reconnecting LO went straight there, bypassing the relay.
 */

let hub: TestServer | undefined;
let lo: TestServer | undefined;
let relay: TcpRelay | undefined;

afterAll(async () => {
  await lo?.stop();
  await hub?.stop();
  await relay?.close();
  removeTempDirs();
});

async function leafCount(s: TestServer): Promise<number> {
  const r = await fetch(`${s.sup.monitorUrl()!}/leafz`);
  return ((await r.json()) as { leafs?: unknown[] }).leafs?.length ?? 0;
}

describe('leaf-node discovery', () => {
  it('an LO reconnects through its configured relay, never around it', async () => {
    const relayPort = await freePort();
    hub = await startTestServer({
      role: 'co',
      siteId: 'hq',
      leafAdvertise: `127.0.0.1:${relayPort}`,
      setup: (c) => void c.issueLeaf('s1'),
    });
    const leafPort = hub.sup.ports()!.leaf!;
    relay = await startTcpRelay({ host: '127.0.0.1', port: leafPort }, relayPort);
    const leaf = hub.creds.issueLeaf('s1');
    lo = await startTestServer({
      role: 'lo',
      siteId: 's1',
      hubLeaf: { url: `nats-leaf://127.0.0.1:${relayPort}`, user: leaf.user, password: leaf.password },
    });
    const h = hub;
    const r = relay;
    await waitFor(async () => (await leafCount(h)) === 1 && r.open() === 1, {
      what: 'the leaf link through the relay',
      timeoutMs: 15_000,
    });

    // The relay host stops passing traffic: the LO must keep knocking at the relay.
    r.setMode('refuse');
    r.dropAll();
    await waitFor(() => r.refused() >= 3, {
      what: 'three reconnect attempts at the relay',
      timeoutMs: 60_000,
    });
    expect(await leafCount(h)).toBe(0);

    // The relay comes back: the link is up again, through it.
    r.setMode('forward');
    await waitFor(async () => (await leafCount(h)) === 1 && r.open() === 1, {
      what: 'the leaf link back through the relay',
      timeoutMs: 60_000,
    });
    expect(r.forwarded()).toBe(2);
  }, 120_000);
});
