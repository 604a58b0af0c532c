import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { silentLogger } from '../../lib/log/index.js';
import { connectAgentBus, type AgentBus, AGGREGATE_UP_STREAM } from '../../lib/bus/index.js';
import { ensureHubStreams, ensureSiteUpStream } from './streams.js';
import { createUplinkReader, type UpMessage, type UplinkReader } from './uplink.js';
import {
  processAlive,
  removeTempDirs,
  startTestServer,
  tempDir,
  type TestServer,
} from '../../lib/base/testing.js';
import type { NodeCredentials } from './credentials.js';
import { waitFor } from '../../test/helpers/wait.js';

/**
 * Store and forward between a site (LO, leaf node with its own JetStream domain) and the CO (hub),
 * with real nats-server processes: the hub is SIGKILLed while the site publishes, then the LO is.
 */

const NODES = 5;
const PER_NODE = 200; // 5 x 200 = 1,000 reports per scenario

let hub: TestServer;
let lo: TestServer;
let reader: UplinkReader;
const creds: NodeCredentials[] = [];
const buses: AgentBus[] = [];
const received: UpMessage[] = [];

afterAll(async () => {
  await reader?.stop();
  await Promise.allSettled(buses.map((b) => b.close()));
  await lo?.stop();
  await hub?.stop();
  removeTempDirs();
});

beforeAll(async () => {
  // The hub comes back 1.5 s after a crash, so the site really has to hold its reports meanwhile.
  hub = await startTestServer({
    role: 'co',
    siteId: 'hq',
    timing: { backoffInitialMs: 1500, backoffMaxMs: 1500 },
    setup: (c) => void c.issueLeaf('s1'),
  });
  const leaf = hub.creds.issueLeaf('s1');
  lo = await startTestServer({
    role: 'lo',
    siteId: 's1',
    hubLeaf: { url: hub.leafUrl!, user: leaf.user, password: leaf.password },
    timing: { backoffInitialMs: 1000, backoffMaxMs: 1000 },
    setup: (c) => {
      for (let i = 0; i < NODES; i++) creds.push(c.issueNode(`acme.node-${i}`, 's1'));
    },
  });
  await ensureSiteUpStream(await jetstreamManager(await lo.connectService()), 's1');
  await ensureHubStreams(await jetstreamManager(await hub.connectService()), [
    { siteId: 's1', local: false },
  ]);
  reader = createUplinkReader({
    nc: await hub.connectService(),
    stream: AGGREGATE_UP_STREAM,
    cursorFile: path.join(tempDir('cursor'), 'cursor.json'),
    logger: silentLogger(),
    handle: (m) => {
      if (m.kind === 'status') received.push(m);
    },
  });
  await reader.start();
  for (const c of creds) {
    buses.push(
      await connectAgentBus({
        url: lo.url,
        seed: c.seed!,
        nodeUid: c.nodeUid,
        siteId: 's1',
        heartbeatSeconds: 60,
      }),
    );
  }
}, 60_000);

/** Every agent publishes PER_NODE reports in order, retrying an unacknowledged one with the same seq. */
async function publishAll(round: string, acked: Set<string>, onProgress: (n: number) => void): Promise<void> {
  await Promise.all(
    buses.map(async (bus) => {
      for (let i = 0; i < PER_NODE; i++) {
        const seq = bus.nextSeq();
        for (;;) {
          try {
            await bus.publishStatus({ round, i }, { seq, timeoutMs: 1000 });
            acked.add(`${bus.nodeUid}/${i}`);
            onProgress(acked.size);
            break;
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      }
    }),
  );
}

function checkRound(round: string): void {
  const mine = received.filter((m) => (m.body as { round: string }).round === round);
  const byNode = new Map<string, number[]>();
  for (const m of mine) {
    const list = byNode.get(m.nodeUid!) ?? [];
    list.push((m.body as { i: number }).i);
    byNode.set(m.nodeUid!, list);
  }
  expect(mine).toHaveLength(NODES * PER_NODE);
  for (const c of creds) {
    expect(byNode.get(c.nodeUid), c.nodeUid).toEqual(Array.from({ length: PER_NODE }, (_, i) => i));
  }
}

describe('store and forward across the leaf link', () => {
  it('delivers all 1,000 reports in order, once, although the CO server was SIGKILLed mid-stream', async () => {
    const acked = new Set<string>();
    let killed = false;
    let hubPid = 0;
    await publishAll('hub-kill', acked, (n) => {
      if (!killed && n >= 250) {
        killed = true;
        hubPid = hub.sup.pid()!;
        process.kill(hubPid, 'SIGKILL');
      }
    });
    expect(killed).toBe(true);
    expect(processAlive(hubPid)).toBe(false);
    await waitFor(
      () =>
        received.filter((m) => (m.body as { round: string }).round === 'hub-kill').length >= NODES * PER_NODE,
      { what: 'all reports at the CO', timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 500)); // a late duplicate would show up now
    checkRound('hub-kill');
    expect(hub.sup.state()).toMatchObject({ state: 'running', restarts: 1 });
  });

  it('loses nothing acknowledged when the LO server is SIGKILLed mid-stream', async () => {
    const acked = new Set<string>();
    let killed = false;
    await publishAll('lo-kill', acked, (n) => {
      if (!killed && n >= 400) {
        killed = true;
        process.kill(lo.sup.pid()!, 'SIGKILL');
      }
    });
    expect(killed).toBe(true);
    expect(acked.size).toBe(NODES * PER_NODE);
    await waitFor(
      () =>
        received.filter((m) => (m.body as { round: string }).round === 'lo-kill').length >= NODES * PER_NODE,
      { what: 'all reports at the CO', timeoutMs: 60_000 },
    );
    await new Promise((r) => setTimeout(r, 500));
    checkRound('lo-kill');
    expect(lo.sup.state()).toMatchObject({ state: 'running', restarts: 1 });
  });
});
