import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, nkeyAuthenticator, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  connectAgentBus,
  type AgentBus,
  desiredSubject,
  nodeSubject,
  upStreamName,
  AGGREGATE_UP_STREAM,
} from '../../lib/bus/index.js';
import { ensureHubStreams, ensureSiteDownStream, ensureSiteUpStream } from './streams.js';
import { removeTempDirs, startTestServer, type TestServer } from '../../lib/base/testing.js';
import type { NodeCredentials } from './credentials.js';
import { waitFor } from '../../test/helpers/wait.js';

/**
 * The credential model against real nats-server processes: one hub (CO) and two sites (LOs joined as
 * leaf nodes with their own JetStream domains), nodes with the NKEY users the registry generates.
 */

const servers: TestServer[] = [];
const conns: NatsConnection[] = [];
const buses: AgentBus[] = [];
afterAll(async () => {
  await Promise.allSettled(buses.map((b) => b.close()));
  await Promise.allSettled(conns.map((c) => c.close()));
  for (const s of servers.reverse()) await s.stop();
  removeTempDirs();
});

function seed(c: NodeCredentials): Uint8Array {
  return new TextEncoder().encode(c.seed!);
}

function collect(nc: NatsConnection, subject: string): Msg[] {
  const got: Msg[] = [];
  nc.subscribe(subject, {
    callback: (e, m) => {
      if (!e) got.push(m);
    },
  });
  return got;
}

/** The permission errors the server sent a connection. */
function violations(nc: NatsConnection): string[] {
  const out: string[] = [];
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'error') out.push(String((s as { error?: Error }).error?.message ?? ''));
    }
  })();
  return out;
}

let hub: TestServer;
let lo1: TestServer;
let lo2: TestServer;
let credA: NodeCredentials;
let credB: NodeCredentials;
let credC: NodeCredentials;

beforeAll(async () => {
  hub = await startTestServer({
    role: 'co',
    siteId: 'hq',
    setup: (c) => {
      c.issueLeaf('s1');
      c.issueLeaf('s2');
    },
  });
  servers.push(hub);
  const leaf = (site: string) => {
    const l = hub.creds.issueLeaf(site);
    return { url: hub.leafUrl!, user: l.user, password: l.password };
  };
  lo1 = await startTestServer({
    role: 'lo',
    siteId: 's1',
    hubLeaf: leaf('s1'),
    setup: (c) => {
      credA = c.issueNode('acme.node-a', 's1');
      credB = c.issueNode('acme.node-b', 's1');
    },
  });
  servers.push(lo1);
  lo2 = await startTestServer({
    role: 'lo',
    siteId: 's2',
    hubLeaf: leaf('s2'),
    setup: (c) => {
      credC = c.issueNode('acme.node-c', 's2');
    },
  });
  servers.push(lo2);
  const hubSvc = await hub.connectService();
  const lo1Svc = await lo1.connectService();
  const lo2Svc = await lo2.connectService();
  conns.push(hubSvc, lo1Svc, lo2Svc);
  await waitFor(
    async () => {
      const r = await fetch(`${hub.sup.monitorUrl()}/leafz`);
      return ((await r.json()) as { leafnodes: number }).leafnodes === 2;
    },
    { what: 'both leaf nodes to join the hub', timeoutMs: 15_000 },
  );
  await ensureSiteUpStream(await jetstreamManager(lo1Svc), 's1');
  await ensureSiteUpStream(await jetstreamManager(lo2Svc), 's2');
  await ensureHubStreams(await jetstreamManager(hubSvc), [
    { siteId: 's1', local: false },
    { siteId: 's2', local: false },
  ]);
  await ensureSiteDownStream(await jetstreamManager(lo1Svc), 's1');
  await ensureSiteDownStream(await jetstreamManager(lo2Svc), 's2');
}, 60_000);

describe('node credentials (least privilege)', () => {
  it('lets node A publish its own status and receive its own poll-now notice', async () => {
    const busA = await connectAgentBus({
      url: lo1.url,
      seed: credA.seed!,
      nodeUid: 'acme.node-a',
      siteId: 's1',
    });
    buses.push(busA);
    const got: number[] = [];
    busA.onPollNow((n) => got.push(n.at));
    const receipt = await busA.publishStatus({ state: 'RUNNING' });
    expect(receipt.duplicate).toBe(false);
    const svc = await lo1.connectService();
    await waitFor(
      async () => {
        svc.publish(nodeSubject('s1', 'acme.node-a', 'notify'), JSON.stringify({ at: 1 }));
        return got.length > 0;
      },
      { what: 'the poll-now notice', timeoutMs: 15_000 },
    );
  });

  it("denies node A subscribing to node B's subjects and publishing as B", async () => {
    const ncA = await connect({
      servers: lo1.url,
      authenticator: nkeyAuthenticator(seed(credA)),
      inboxPrefix: credA.inboxPrefix,
    });
    conns.push(ncA);
    const errs = violations(ncA);
    const svc = await lo1.connectService();
    const asB = collect(svc, nodeSubject('s1', 'acme.node-b', 'status'));
    const stolenNotify = collect(ncA, nodeSubject('s1', 'acme.node-b', 'notify'));
    const stolenAll = collect(ncA, 'outpost.>');
    const stolenInbox = collect(ncA, '_INBOX.>');
    const stolenBInbox = collect(ncA, `${credB.inboxPrefix}.>`);
    await ncA.flush();

    ncA.publish(nodeSubject('s1', 'acme.node-b', 'status'), 'forged');
    ncA.publish(nodeSubject('s1', 'acme.node-b', 'presence'), 'forged');
    ncA.publish(nodeSubject('s1', 'acme.node-a', 'notify'), 'to itself');
    await ncA.flush();

    const busB = await connectAgentBus({
      url: lo1.url,
      seed: credB.seed!,
      nodeUid: 'acme.node-b',
      siteId: 's1',
    });
    buses.push(busB);
    const gotB: unknown[] = [];
    busB.onPollNow((n) => gotB.push(n));
    await busB.publishStatus({ real: true });
    await waitFor(
      async () => {
        svc.publish(nodeSubject('s1', 'acme.node-b', 'notify'), JSON.stringify({ at: 2 }));
        return gotB.length > 0;
      },
      { what: "B's own notice", timeoutMs: 15_000 },
    );
    await svc.flush();
    await new Promise((r) => setTimeout(r, 200));

    expect(asB.map((m) => m.string())).toEqual(['{"real":true}']);
    expect(stolenNotify).toEqual([]);
    expect(stolenAll).toEqual([]);
    expect(stolenInbox).toEqual([]);
    expect(stolenBInbox).toEqual([]);
    const text = errs.join('\n');
    expect(text).toMatch(
      /Permissions Violation for Subscription to "outpost\.site\.s1\.node\.acme_2Enode-b\.notify"/,
    );
    expect(text).toMatch(
      /Permissions Violation for Publish to "outpost\.site\.s1\.node\.acme_2Enode-b\.status"/,
    );
    expect(text).toMatch(/Permissions Violation for Subscription to "_INBOX\.>"/);
  });

  it('refuses unknown keys and anonymous connections', async () => {
    await expect(connect({ servers: lo1.url, reconnect: false })).rejects.toThrow(/authorization/i);
    const stranger = hub.creds.issueNode('acme.stranger', 's1'); // registered on another server only
    await expect(
      connect({ servers: lo1.url, authenticator: nkeyAuthenticator(seed(stranger)), reconnect: false }),
    ).rejects.toThrow(/authorization/i);
  });
});

describe('leaf credentials (site isolation)', () => {
  it('carries site data upward and notices downward', async () => {
    const busC = await connectAgentBus({
      url: lo2.url,
      seed: credC.seed!,
      nodeUid: 'acme.node-c',
      siteId: 's2',
    });
    buses.push(busC);
    await busC.publishStatus({ from: 'c' });
    const hubSvc = await hub.connectService();
    const hubJsm = await jetstreamManager(hubSvc);
    await waitFor(async () => (await hubJsm.streams.info(AGGREGATE_UP_STREAM)).state.messages >= 3, {
      what: 'upward sourcing',
      timeoutMs: 15_000,
    });
    const { jetstream } = await import('@nats-io/jetstream');
    await jetstream(hubSvc).publish(desiredSubject('s2'), '{"commit":"abc"}');
    const lo2Jsm = await jetstreamManager(await lo2.connectService());
    await waitFor(async () => (await lo2Jsm.streams.info('OUTPOST_DOWN')).state.messages === 1, {
      what: 'downward sourcing',
      timeoutMs: 15_000,
    });
  });

  it('an LO of site 1 cannot read site 2', async () => {
    const lo1Svc = await lo1.connectService();
    const everything = collect(lo1Svc, '>');
    await lo1Svc.flush();
    const hubSvc = await hub.connectService();
    const { jetstream } = await import('@nats-io/jetstream');
    await jetstream(hubSvc).publish(desiredSubject('s2'), '{"secret":"s2"}');
    await jetstream(hubSvc).publish(desiredSubject('s1'), '{"for":"s1"}');
    hubSvc.publish('outpost.site.s2.node.x.notify', 'x');
    const busC = buses.find((b) => b.nodeUid === 'acme.node-c')!;
    await busC.publishStatus({ secret: 's2-status' });
    busC.heartbeat();

    const probes = [
      `$JS.site-s2.API.STREAM.INFO.${upStreamName('s2')}`,
      `$JS.co.API.STREAM.INFO.${AGGREGATE_UP_STREAM}`,
      '$JS.co.API.STREAM.INFO.OUTPOST_DOWN_s2',
      '$JS.co.API.CONSUMER.CREATE.OUTPOST_DOWN_s2',
    ];
    for (const subject of probes) {
      await expect(lo1Svc.request(subject, '{}', { timeout: 500 }), subject).rejects.toThrow();
    }
    const lo1Jsm = await jetstreamManager(lo1Svc);
    await waitFor(async () => (await lo1Jsm.streams.info('OUTPOST_DOWN')).state.messages >= 1, {
      what: 'the s1 notice',
      timeoutMs: 15_000,
    });
    await new Promise((r) => setTimeout(r, 500));
    // Our own probes echo back to the `>` subscription; anything else mentioning s2, or any answer from the
    // hub's JetStream (domain co), is a leak. Replies of LO 1's own JetStream (domain site-s1) are fine.
    // "s2" as a token (not inside a random inbox or nonce such as "_INBOX.uLs2oho...").
    const mentionsS2 = (text: string) => /(^|[^A-Za-z0-9])s2([^A-Za-z0-9]|$)/.test(text);
    const leaked = everything.filter(
      (m) =>
        !probes.includes(m.subject) &&
        (mentionsS2(m.subject) || mentionsS2(m.string()) || m.string().includes('"domain":"co"')),
    );
    expect(leaked.map((m) => `${m.subject} ${m.string().slice(0, 80)}`)).toEqual([]);
    expect(
      everything.some(
        (m) => m.subject === desiredSubject('s1') || m.subject.startsWith('outpost.deliver.s1.down'),
      ),
    ).toBe(true);
  });

  it('an LO of site 1 cannot speak for site 2 or the hub', async () => {
    const hubSvc = await hub.connectService();
    const atHub = collect(hubSvc, 'outpost.>');
    await hubSvc.flush();
    await waitFor(
      async () => {
        // Wait until the hub's interest has reached LO 1 over the leaf link.
        const r = await fetch(`${lo1.sup.monitorUrl()}/leafz?subs=1`);
        const l = ((await r.json()) as { leafs: { subscriptions_list?: string[] }[] }).leafs;
        return l.some((x) => x.subscriptions_list?.includes('outpost.>'));
      },
      { what: 'the hub subscription at LO 1', timeoutMs: 15_000 },
    );
    const lo1Svc = await lo1.connectService();
    const forged = [
      'outpost.site.s2.node.acme_2Enode-c.status',
      'outpost.site.s2.lo.heartbeat',
      desiredSubject('s1'), // only the CO sends desired-state notices
    ];
    for (const subject of forged) lo1Svc.publish(subject, 'forged by LO 1');
    lo1Svc.publish('outpost.site.s1.lo.probe', 'its own');
    await lo1Svc.flush();
    await waitFor(() => atHub.some((m) => m.subject === 'outpost.site.s1.lo.probe'), {
      what: 'its own site subject',
      timeoutMs: 15_000,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(atHub.filter((m) => forged.includes(m.subject) || m.string() === 'forged by LO 1')).toEqual([]);
  });

  it('leaf credentials cannot be used as a client connection', async () => {
    const l = hub.creds.issueLeaf('s1');
    await expect(
      connect({ servers: hub.url, user: l.user, pass: l.password, reconnect: false }),
    ).rejects.toThrow(/authorization/i);
  });
});
