import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ConfigOverrides } from '../config.js';
import { createPaths, systemClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { createMessagingModule, type Messaging, type NodeReport, type DesiredNotice } from './module.js';
import { connectAgentBus, type AgentBus } from '../../lib/bus/index.js';
import type { PresenceChange } from './presence-tracker.js';
import { removeTempDirs, tempDir } from '../../lib/base/testing.js';
import { waitFor } from '../../test/helpers/wait.js';

/**
 * The messaging module end to end with real nats-server processes: a CO+LO server ("all", site hq)
 * and a remote LO (site plant-1) that joins it as a leaf node with the credentials the CO issues.
 */

type Module = ReturnType<typeof createMessagingModule>;
const modules: Module[] = [];
const homes = new Map<Module, string>();
const buses: AgentBus[] = [];
afterAll(async () => {
  await Promise.allSettled(buses.map((b) => b.close()));
  for (const m of modules.reverse()) await m.stop?.();
  removeTempDirs();
});

function makeModule(overrides: ConfigOverrides): Module {
  const home = tempDir('msg-home');
  const config = parseConfig({
    ...overrides,
    nats: {
      port: 0,
      leafPort: 0,
      heartbeatSeconds: 1,
      checkInSeconds: 1,
      staleAfterSeconds: 2,
      offlineAfterSeconds: 4,
      ...overrides.nats,
    },
  });
  const m = createMessagingModule({
    config,
    paths: createPaths(home),
    logger: silentLogger(),
    clock: systemClock,
    scanIntervalMs: 100,
    linkPollMs: 200,
    timing: { backoffInitialMs: 100, backoffMaxMs: 500 },
  });
  modules.push(m);
  homes.set(m, home);
  return m;
}

let co: Module;
let coBus: Messaging;
let lo: Module;
let loBus: Messaging;
const statuses: NodeReport[] = [];
const coPresence: PresenceChange[] = [];
const notices: DesiredNotice[] = [];

beforeAll(async () => {
  co = makeModule({ role: 'all', site: { id: 'hq', name: 'HQ' } });
  coBus = co.messaging;
  coBus.onNodeStatus((r) => void statuses.push(r));
  coBus.onPresence((c) => void coPresence.push(c));
  await co.start!();
  expect(['starting', 'running']).toContain(coBus.natsState().state);
  expect(coBus.natsUrl()).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
  await coBus.ready(30_000);
  expect(coBus.natsState()).toMatchObject({ state: 'running', restarts: 0 });

  const leaf = await coBus.issueLeafCredentials('plant-1', { tenantId: 'default' });
  expect(leaf.hubLeafUrl).toMatch(/^nats-leaf:\/\/leaf-plant-1:[^@]+@127\.0\.0\.1:\d+$/);
  lo = makeModule({
    role: 'lo',
    site: { id: 'plant-1', name: 'Plant 1' },
    nats: { hubLeafUrl: leaf.hubLeafUrl! },
  });
  loBus = lo.messaging;
  loBus.onDesiredNotice((n) => void notices.push(n));
  await lo.start!();
  await loBus.ready(30_000);
}, 90_000);

describe('messaging module', () => {
  it('issues node credentials; the agent heartbeats and shows online with its age, then stale, then offline', async () => {
    const cred = await loBus.issueNodeCredentials('acme.press-01', 'plant-1');
    expect(cred.seed).toMatch(/^SU/);
    expect(cred.subjects.notify).toBe('outpost.site.plant-1.node.acme_2Epress-01.notify');
    expect(loBus.presence.get('plant-1', 'acme.press-01')).toMatchObject({
      state: 'unknown',
      lastSeen: null,
      ageSeconds: null,
    });

    const bus = await connectAgentBus({
      url: loBus.natsUrl()!,
      seed: cred.seed!,
      nodeUid: 'acme.press-01',
      siteId: 'plant-1',
      heartbeatSeconds: 1,
    });
    buses.push(bus);
    await waitFor(() => loBus.presence.get('plant-1', 'acme.press-01').state === 'online', {
      what: 'online at the LO',
      timeoutMs: 15_000,
    });
    const e = loBus.presence.get('plant-1', 'acme.press-01');
    expect(e.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(e.ageSeconds).toBeLessThan(2);
    // The change travels upward: the CO sees the node online too.
    await waitFor(
      () => coBus.presence.list('plant-1').some((p) => p.nodeUid === 'acme.press-01' && p.state === 'online'),
      { what: 'online at the CO', timeoutMs: 15_000 },
    );
    expect(
      coPresence.some((c) => c.siteId === 'plant-1' && c.nodeUid === 'acme.press-01' && c.state === 'online'),
    ).toBe(true);

    await bus.close();
    await waitFor(() => loBus.presence.get('plant-1', 'acme.press-01').state === 'stale', {
      what: 'stale',
      timeoutMs: 10_000,
    });
    // The change reaches the CO through the upward stream a moment later.
    await waitFor(() => coBus.presence.get('plant-1', 'acme.press-01').state !== 'online', {
      what: 'not online at the CO',
      timeoutMs: 5_000,
    });
    await waitFor(() => loBus.presence.get('plant-1', 'acme.press-01').state === 'offline', {
      what: 'offline',
      timeoutMs: 10_000,
    });
    expect(loBus.presence.get('plant-1', 'acme.press-01').ageSeconds).toBeGreaterThanOrEqual(4);
    await waitFor(() => coBus.presence.get('plant-1', 'acme.press-01').state === 'offline', {
      what: 'offline at the CO',
      timeoutMs: 10_000,
    });
  });

  it('a deploy reaches the agent through "poll now" well before its 30 s poll interval', async () => {
    const cred = await loBus.issueNodeCredentials('acme.press-02', 'plant-1');
    // The LO's manifest for the node and a minimal agent loop: poll every 30 s, or at once on "poll now".
    let manifestVersion = 1;
    const polls: { version: number; why: string }[] = [];
    const bus = await connectAgentBus({
      url: loBus.natsUrl()!,
      seed: cred.seed!,
      nodeUid: 'acme.press-02',
      siteId: 'plant-1',
    });
    buses.push(bus);
    const poll = (why: string) => polls.push({ version: manifestVersion, why });
    const interval = setInterval(() => poll('interval'), 30_000);
    bus.onPollNow(() => poll('poll-now'));
    try {
      poll('start');
      // The server has the subscription once it answered anything sent after it on this connection
      // (NATS handles a connection's messages in order): a status report acknowledged by the stream.
      await bus.publishStatus({ state: 'READY' });
      manifestVersion = 2; // the LO rebuilt the node's state manifest ...
      expect(loBus.notifyPollNow('plant-1', 'acme.press-02', { reason: 'deploy', manifestVersion: 2 })).toBe(
        true,
      );
      await waitFor(() => polls.some((p) => p.version === 2), {
        what: 'the agent to poll the new manifest',
        timeoutMs: 25_000,
      });
      // It came from the notice, not from the 30 s interval.
      expect(polls.map((p) => p.why)).toEqual(['start', 'poll-now']);
    } finally {
      clearInterval(interval);
    }
  });

  it('hands each status report to the CO once, with the node sequence number', async () => {
    const cred = await loBus.issueNodeCredentials('acme.press-03', 'plant-1');
    const bus = await connectAgentBus({
      url: loBus.natsUrl()!,
      seed: cred.seed!,
      nodeUid: 'acme.press-03',
      siteId: 'plant-1',
    });
    buses.push(bus);
    const r1 = await bus.publishStatus({ state: 'INSTALLING' });
    const again = await bus.publishStatus({ state: 'INSTALLING' }, { seq: r1.seq }); // a retry
    expect(again.duplicate).toBe(true);
    await bus.publishStatus({ state: 'RUNNING' });
    // A last report behind them: once it is at the CO, a duplicate of the first would have been too
    // (one publisher's reports arrive in order), whatever the machine's speed.
    await bus.publishStatus({ state: 'LAST' });
    await waitFor(
      () =>
        statuses.some((s) => s.nodeUid === 'acme.press-03' && (s.body as { state: string }).state === 'LAST'),
      { what: 'status at the CO', timeoutMs: 15_000 },
    );
    const mine = statuses.filter((s) => s.nodeUid === 'acme.press-03');
    expect(mine.map((s) => (s.body as { state: string }).state)).toEqual(['INSTALLING', 'RUNNING', 'LAST']);
    expect(mine[0]).toMatchObject({ siteId: 'plant-1', kind: 'status', seq: r1.seq });
  });

  it('carries desired-state notices down to the LO', async () => {
    await coBus.publishDesiredNotice('plant-1', { commit: 'abc123' });
    await waitFor(() => notices.length === 1, { what: 'the notice at the LO', timeoutMs: 15_000 });
    expect(notices[0]).toMatchObject({ siteId: 'plant-1', body: { commit: 'abc123' } });
    await expect(coBus.publishDesiredNotice('nowhere', {})).rejects.toMatchObject({ code: 'not-found' });
  });

  it("reports each site's link, backlog and data age", async () => {
    const links = await coBus.siteLinks();
    expect(links.map((l) => l.siteId)).toEqual(['hq', 'plant-1']);
    const hq = links.find((l) => l.siteId === 'hq')!;
    expect(hq.link).toBe('local');
    const plant = links.find((l) => l.siteId === 'plant-1')!;
    expect(plant).toMatchObject({ link: 'connected', backlog: 0 });
    expect(plant.dataAgeSeconds).not.toBeNull();
    expect(plant.dataAgeSeconds!).toBeLessThan(10);
    expect((await loBus.siteLinks())[0]).toMatchObject({ siteId: 'plant-1', link: 'connected' });
  });

  it('revokes a node: its connection is closed and it cannot come back', async () => {
    const cred = await loBus.issueNodeCredentials('acme.press-04', 'plant-1');
    const bus = await connectAgentBus({
      url: loBus.natsUrl()!,
      seed: cred.seed!,
      nodeUid: 'acme.press-04',
      siteId: 'plant-1',
    });
    buses.push(bus);
    await bus.publishStatus({ ok: true });
    expect(await loBus.removeNodeUser('acme.press-04')).toBe(true);
    await expect(bus.publishStatus({ after: 'revocation' }, { timeoutMs: 1500 })).rejects.toMatchObject({
      code: 'nats-unavailable',
    });
    expect(await loBus.removeNodeUser('acme.press-04')).toBe(false);
  });

  it('marks the link disconnected when the LO goes away, and keeps the age of its data', async () => {
    await lo.stop!();
    await waitFor(
      async () => (await coBus.siteLinks()).find((l) => l.siteId === 'plant-1')!.link === 'disconnected',
      { what: 'disconnected link', timeoutMs: 15_000 },
    );
    const plant = (await coBus.siteLinks()).find((l) => l.siteId === 'plant-1')!;
    expect(plant.since).toBeGreaterThan(0);
    expect(plant.lastDataAt).not.toBeNull();
    // What waits at the site cannot be seen from here while the link is down: unknown, never "0".
    expect(plant.backlog).toBeNull();
    expect(plant.lastContactSeconds).not.toBeNull();
    expect(lo.natsState!().state).toBe('stopped');
  });

  it('refuses bad input without changing anything', async () => {
    await expect(coBus.issueNodeCredentials('bad uid', 'hq')).rejects.toMatchObject({
      code: 'invalid-input',
    });
    await expect(coBus.issueNodeCredentials('acme.x', 'Bad_Site')).rejects.toMatchObject({
      code: 'invalid-input',
    });
    await expect(loBus.issueLeafCredentials('plant-2')).rejects.toMatchObject({ code: 'invalid-input' });
    await expect(coBus.issueLeafCredentials('hq')).rejects.toMatchObject({ code: 'invalid-input' });
    await expect(coBus.issueLeafCredentials('plant-1', { tenantId: 'other' })).rejects.toMatchObject({
      code: 'conflict',
    });
    const file = JSON.parse(
      fs.readFileSync(createPaths(homes.get(co)!).natsDir + '/credentials.json', 'utf8'),
    ) as {
      nodes: object;
    };
    expect(Object.keys(file.nodes)).toEqual([]);
  });
});
