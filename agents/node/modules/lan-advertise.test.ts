import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Advertisement } from '../../../lib/discovery/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import type { AgentAdvertiseInput } from '../advertise.js';
import { createLanAdvertise } from './lan-advertise.js';

// The advertise module: the start never waits for mDNS probing, stop() withdraws the advertisement
// (also one still probing, before stop() returns), and a failure is never the agent's. mDNS itself is
// tested across network namespaces (test/integration/discovery-netns.test.ts); here the advertisement is
// held back by the test to choose the moment the module stops.

const base = {
  lo: 'https://10.0.0.1:7443',
  keyPem: 'unused',
  nodeId: 'default.edge-1',
  siteId: 'site-a',
  version: 'test',
  config: { advertise: true, interfaces: [] as string[] },
  logger: silentLogger(),
};

/** An advertisement the test makes appear when it wants; counts its withdrawals. */
function heldBack() {
  const calls: AgentAdvertiseInput[] = [];
  let withdrawn = 0;
  let release!: (a: Advertisement | undefined) => void;
  let fail!: (e: Error) => void;
  const ad: Advertisement = {
    name: () => 'edge-1',
    interfaces: ['eth0'],
    updateTxt: async () => undefined,
    stop: async () => void withdrawn++,
  };
  const advertise = (input: AgentAdvertiseInput) => {
    calls.push(input);
    return new Promise<Advertisement | undefined>((resolve, reject) => {
      release = resolve;
      fail = reject;
    });
  };
  return {
    advertise,
    calls,
    ad,
    withdrawn: () => withdrawn,
    release: (a: Advertisement | undefined = ad) => release(a),
    fail: (e: Error) => fail(e),
  };
}

describe('the advertise module', () => {
  it('starts without waiting for the advertisement, with the node id, site and key, and withdraws it at stop', async () => {
    const h = heldBack();
    const m = createLanAdvertise({ ...base, advertise: h.advertise });
    expect(m.name).toBe('advertise');
    // The advertisement is still probing: start() has returned all the same.
    await m.start();
    expect(h.calls).toEqual([
      expect.objectContaining({ lo: base.lo, nodeId: 'default.edge-1', siteId: 'site-a', keyPem: 'unused' }),
    ]);
    h.release();
    await new Promise((r) => setImmediate(r));
    expect(h.withdrawn()).toBe(0);
    await m.stop();
    expect(h.withdrawn()).toBe(1);
    await m.stop();
    expect(h.withdrawn()).toBe(1);
  });

  it('withdraws an advertisement that was still probing at stop before stop() returns', async () => {
    const h = heldBack();
    const m = createLanAdvertise({ ...base, advertise: h.advertise });
    await m.start();
    let done = false;
    const stopping = m.stop().then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    h.release();
    await stopping;
    expect(h.withdrawn()).toBe(1);
  });

  it('stops cleanly when nothing was advertised or advertising failed', async () => {
    const none = heldBack();
    const m1 = createLanAdvertise({ ...base, advertise: none.advertise });
    await m1.start();
    none.release(undefined);
    await m1.stop();

    const failing = heldBack();
    const m2 = createLanAdvertise({ ...base, advertise: failing.advertise });
    await m2.start();
    failing.fail(new Error('no multicast here'));
    await m2.stop();
    expect(failing.withdrawn()).toBe(0);
  });

  it('sends nothing for an LO on loopback (the real advertisement)', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const m = createLanAdvertise({ ...base, lo: 'https://127.0.0.1:7443', keyPem });
    await m.start();
    await m.stop();
  });
});
