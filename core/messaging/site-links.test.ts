import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type ConfigOverrides } from '../config.js';
import { createPaths, systemClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { createMessagingModule } from './module.js';
import { removeTempDirs, tempDir } from '../../lib/base/testing.js';
import { startTcpRelay, type TcpRelay } from '../../test/helpers/tcp-relay.js';
import { freePort } from './ports.js';
import type { SiteLink } from '../../lib/contract/index.js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { AGGREGATE_UP_STREAM, loSubject, upStreamName } from '../../lib/bus/index.js';
import { openCredentialStore } from './credentials.js';
import { connectService } from './topology.js';
import { waitFor } from '../../test/helpers/wait.js';

/**
 * Issue 19, defect 1 (ADR 0165): a cut link is never shown as a healthy one. A CO and a remote LO joined
 * through a relay that goes silent (a firewall dropping packets: both nats-servers keep their leaf
 * connection for minutes): the CO calls the link unreachable since its last evidence with the backlog
 * unknown, the LO says the same of its side and counts its outgoing backlog; after the heal both say
 * connected and the backlog drains to 0.
 */

type Module = ReturnType<typeof createMessagingModule>;
const modules: Module[] = [];
const homes = new Map<Module, string>();
let relay: TcpRelay | undefined;
afterAll(async () => {
  for (const m of modules.reverse()) await m.stop?.();
  await relay?.close();
  removeTempDirs();
});

function makeModule(overrides: ConfigOverrides): Module {
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
  const home = tempDir('links-home');
  const m = createMessagingModule({
    config,
    paths: createPaths(home),
    logger: silentLogger(),
    clock: systemClock,
    scanIntervalMs: 100,
    linkPollMs: 200,
    timing: { backoffInitialMs: 100, backoffMaxMs: 500 },
    linkTiming: { stallAfterMs: 2000 },
  });
  modules.push(m);
  homes.set(m, home);
  return m;
}

/** The leaf listener's port, from the configuration the supervisor generated. */
function leafListenPort(m: Module): number {
  const file = path.join(createPaths(homes.get(m)!).natsDir, 'nats-server.conf');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { leafnodes: { port: number } }).leafnodes.port;
}

let co: Module;
let lo: Module;
const coLink = async () => (await co.messaging.siteLinks()).find((l) => l.siteId === 'plant-1')!;

/** The watchdog repaired the link (more repairs than before), and the site's data flows again. */
async function repairedAndFlowing(repairsBefore: number): Promise<void> {
  await waitFor(async () => ((await coLink()).repairs ?? 0) > repairsBefore, {
    what: 'a repair',
    timeoutMs: 60_000,
  });
  await waitFor(
    async () => {
      const c = await coLink();
      return c.link === 'connected' && c.backlog === 0 && c.dataAgeSeconds !== null && c.dataAgeSeconds < 3;
    },
    { what: 'the site data flowing again', timeoutMs: 60_000 },
  );
}
const loLink = async () => (await lo.messaging.siteLinks())[0]!;

beforeAll(async () => {
  const relayPort = await freePort();
  co = makeModule({
    role: 'co',
    site: { id: 'hq', name: 'HQ' },
    nats: { leafAdvertise: `127.0.0.1:${relayPort}` },
  });
  await co.start!();
  await co.messaging.ready(30_000);
  const leaf = await co.messaging.issueLeafCredentials('plant-1', { tenantId: 'default' });
  const leafPort = Number(/:(\d+)$/.exec(leaf.hubLeafUrl!)![1]);
  expect(leafPort).toBe(relayPort);
  relay = await startTcpRelay({ host: '127.0.0.1', port: leafListenPort(co) }, relayPort);
  lo = makeModule({
    role: 'lo',
    site: { id: 'plant-1', name: 'Plant 1' },
    nats: { hubLeafUrl: leaf.hubLeafUrl! },
  });
  await lo.start!();
  await lo.messaging.ready(30_000);
}, 90_000);

describe('site links from evidence', () => {
  it('a working link is connected on both sides, with a backlog each side can count', async () => {
    await waitFor(async () => (await coLink()).link === 'connected' && (await coLink()).backlog !== null, {
      what: 'CO: connected',
      timeoutMs: 15_000,
    });
    await waitFor(async () => (await loLink()).link === 'connected' && (await loLink()).backlog !== null, {
      what: 'LO: connected',
      timeoutMs: 15_000,
    });
    const c = await coLink();
    expect(c.evidence?.probeAgeSeconds).not.toBeNull();
    expect(c.evidence?.roundTripMs).not.toBeNull();
    expect(c.lastContactSeconds).toBeLessThan(3);
  });

  it('a silent link is unreachable since its last evidence, the CO backlog unknown, the LO backlog counted', async () => {
    const before = Date.now();
    relay!.setMode('blackhole');
    await waitFor(async () => (await coLink()).link === 'unreachable', 'CO: unreachable');
    const c: SiteLink = await coLink();
    expect(c.backlog).toBeNull();
    expect(c.since).not.toBeNull();
    expect(c.since!).toBeGreaterThanOrEqual(before - 1500);
    expect(c.since!).toBeLessThanOrEqual(before + 1500);
    expect(c.lastContactSeconds!).toBeGreaterThanOrEqual(3);
    // The LO says the same of its side, and counts what it holds for the CO (its heartbeats pile up).
    await waitFor(async () => {
      const l = await loLink();
      return l.link === 'unreachable' && l.backlog !== null && l.backlog > 0;
    }, 'LO: unreachable with a backlog');
  }, 60_000);

  it('after the heal both sides are connected again and the backlog drains to 0', async () => {
    relay!.setMode('forward');
    await waitFor(
      async () => {
        const c = await coLink();
        return c.link === 'connected' && c.backlog === 0;
      },
      { what: 'CO: connected, backlog 0', timeoutMs: 60_000 },
    );
    await waitFor(
      async () => {
        const l = await loLink();
        return l.link === 'connected' && l.backlog === 0;
      },
      { what: 'LO: connected, backlog 0', timeoutMs: 60_000 },
    );
  }, 120_000);
});

/** A service connection to a module's own nats-server (to change streams behind its back). */
async function serviceConnection(m: Module, name: string): Promise<NatsConnection> {
  const creds = openCredentialStore({
    file: path.join(createPaths(homes.get(m)!).natsDir, 'credentials.json'),
    clock: systemClock,
  });
  return connectService({ url: m.messaging.natsUrl()!, seed: creds.serviceSeed(), name, tls: undefined });
}

describe('the link watchdog (ADR 0166)', () => {
  it("re-creates the CO's source of a site whose data stops arriving while its link answers", async () => {
    await waitFor(async () => (await coLink()).link === 'connected' && (await coLink()).backlog === 0, {
      what: 'a healthy link',
      timeoutMs: 15_000,
    });
    const repairsBefore = (await coLink()).repairs ?? 0;
    // The CO loses its source of the site's stream (the state the issue found after a heal: the CO's side
    // looked fine, nothing arrived). The LO keeps heartbeating into its stream.
    const creds = openCredentialStore({
      file: path.join(createPaths(homes.get(co)!).natsDir, 'credentials.json'),
      clock: systemClock,
    });
    const nc = await connectService({
      url: co.messaging.natsUrl()!,
      seed: creds.serviceSeed(),
      name: 'test-tamper',
      tls: undefined,
    });
    try {
      const jsm = await jetstreamManager(nc);
      const cfg = (await jsm.streams.info(AGGREGATE_UP_STREAM)).config;
      await jsm.streams.update(AGGREGATE_UP_STREAM, { ...cfg, sources: [] });
    } finally {
      await nc.close();
    }
    // The watchdog notices (the LO answers probes, its stream grows, nothing arrives) and repairs it;
    // the backlog drains.
    await repairedAndFlowing(repairsBefore);
    expect((await coLink()).lastRepairAt).not.toBeNull();
  }, 120_000);

  it('leaves alone a source JetStream is in touch with while the data is late: no repair with 1 s check-ins, even stalled on a duplicate (ADR 0502)', async () => {
    await waitFor(
      async () => (await coLink()).link === 'connected' && (await coLink()).backlog === 0,
      'a healthy link',
    );
    const repairsBefore = (await coLink()).repairs ?? 0;
    // Ten check-ins of the LO (every second) arrive at the centre: nothing to repair.
    const seen = (await coLink()).lastDataAt ?? 0;
    let arrivals = 0;
    let last = seen;
    await waitFor(
      async () => {
        const at = (await coLink()).lastDataAt ?? 0;
        if (at > last) arrivals++;
        last = at;
        return arrivals >= 10;
      },
      { what: 'ten check-ins at the centre', timeoutMs: 60_000 },
    );
    expect((await coLink()).repairs ?? 0).toBe(repairsBefore);

    // A message the aggregate refuses as a duplicate: nats-server 2.9 then retries it, copying nothing
    // after it, until the aggregate's duplicate window is over (10 s here so the stall can be watched,
    // 1 s by default), while it says the source is in touch. Re-creating the source would only copy the
    // same message again.
    const co$ = await serviceConnection(co, 'test-co-window');
    const lo$ = await serviceConnection(lo, 'test-lo-duplicates');
    try {
      const coJsm = await jetstreamManager(co$);
      const agg = (await coJsm.streams.info(AGGREGATE_UP_STREAM)).config;
      await coJsm.streams.update(AGGREGATE_UP_STREAM, { ...agg, duplicate_window: nanos(10_000) });
      const loJsm = await jetstreamManager(lo$);
      const up = (await loJsm.streams.info(upStreamName('plant-1'))).config;
      // The site's stream keeps a message id for 100 ms only, so it stores the same id twice.
      await loJsm.streams.update(upStreamName('plant-1'), { ...up, duplicate_window: nanos(100) });
      const js = jetstream(lo$);
      const beat = () =>
        JSON.stringify({ at: Date.now(), counts: { online: 0, stale: 0, offline: 0, unknown: 0 } });
      const subject = loSubject('plant-1', 'heartbeat');
      await js.publish(subject, beat(), { msgID: 'watchdog-duplicate' });
      await waitFor(async () => (await coLink()).backlog === 0, 'the first copy at the centre');
      // Again with the same id, once the site's stream no longer remembers it.
      await waitFor(
        async () => !(await js.publish(subject, beat(), { msgID: 'watchdog-duplicate' })).duplicate,
        'the same id stored twice at the site',
      );
    } finally {
      await co$.close();
      await lo$.close();
    }
    // The centre sees the site ahead and its data stop, longer than two stall periods (2 s each)...
    await waitFor(
      async () => {
        const c = await coLink();
        return c.link === 'connected' && (c.backlog ?? 0) > 0 && (c.dataAgeSeconds ?? 0) >= 5;
      },
      { what: 'the site ahead and its data late', timeoutMs: 60_000 },
    );
    // ...and re-creates nothing: JetStream is in touch with the source.
    expect((await coLink()).repairs ?? 0).toBe(repairsBefore);
    // Once the duplicate window is over, the data flows again by itself.
    await waitFor(
      async () => {
        const c = await coLink();
        return c.link === 'connected' && c.backlog === 0 && c.dataAgeSeconds !== null && c.dataAgeSeconds < 3;
      },
      { what: 'the site data flowing again', timeoutMs: 90_000 },
    );
    expect((await coLink()).repairs ?? 0).toBe(repairsBefore);
  }, 180_000);

  it('writes back a source that was changed to point elsewhere (present, never in touch), and the data flows', async () => {
    await waitFor(async () => (await coLink()).link === 'connected' && (await coLink()).backlog === 0, {
      what: 'a healthy link',
      timeoutMs: 60_000,
    });
    const repairsBefore = (await coLink()).repairs ?? 0;
    const nc = await serviceConnection(co, 'test-misdirect');
    try {
      const jsm = await jetstreamManager(nc);
      const cfg = (await jsm.streams.info(AGGREGATE_UP_STREAM)).config;
      await jsm.streams.update(AGGREGATE_UP_STREAM, {
        ...cfg,
        sources: (cfg.sources ?? []).map((x) =>
          x.name === upStreamName('plant-1')
            ? { ...x, external: { api: '$JS.nowhere.API', deliver: x.external?.deliver ?? '' } }
            : x,
        ),
      });
    } finally {
      await nc.close();
    }
    // Re-creating it as it is would not help: the watchdog writes the sources as they should be.
    await repairedAndFlowing(repairsBefore);
  }, 120_000);
});
