import { afterAll, describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { ensureHubStreams, ensureSiteUpStream, recreateSource } from './streams.js';
import { removeTempDirs, startTestServer, type TestServer } from '../../lib/base/testing.js';
import {
  AGGREGATE_UP_STREAM,
  HEADER_STREAM_SOURCE,
  sourcedSequence,
  upStreamName,
} from '../../lib/bus/index.js';
import { waitFor } from '../../test/helpers/wait.js';

/** Re-creating a source (the link watchdog's repair, ADR 0166) resumes after what the stream holds. */

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers.reverse()) await s.stop();
  removeTempDirs();
});

describe('recreateSource', () => {
  it('fetches nothing twice and skips nothing', async () => {
    const hub = await startTestServer({ role: 'co', siteId: 'hq', setup: (c) => void c.issueLeaf('s1') });
    servers.push(hub);
    const leaf = hub.creds.issueLeaf('s1');
    const lo = await startTestServer({
      role: 'lo',
      siteId: 's1',
      hubLeaf: { url: hub.leafUrl!, user: leaf.user, password: leaf.password },
    });
    servers.push(lo);
    const lnc = await lo.connectService();
    const hjsm = await jetstreamManager(await hub.connectService());
    await ensureSiteUpStream(await jetstreamManager(lnc), 's1');
    await ensureHubStreams(hjsm, [{ siteId: 's1', local: false }]);
    const js = jetstream(lnc);
    const publish = async (n: number) => {
      for (let i = 0; i < n; i++) await js.publish('outpost.site.s1.lo.heartbeat', JSON.stringify({ i }));
    };
    const count = async () => (await hjsm.streams.info(AGGREGATE_UP_STREAM)).state.messages;

    await publish(3);
    await waitFor(async () => (await count()) === 3, { what: 'the first three', timeoutMs: 15_000 });
    expect(await recreateSource(hjsm, AGGREGATE_UP_STREAM, upStreamName('s1'))).toBe(true);
    await publish(2);
    await waitFor(async () => (await count()) === 5, { what: 'the next two', timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1000));
    expect(await count()).toBe(5);
    const origins: number[] = [];
    for (let seq = 1; seq <= 5; seq++) {
      const m = await hjsm.streams.getMessage(AGGREGATE_UP_STREAM, { seq });
      origins.push(sourcedSequence(m?.header.get(HEADER_STREAM_SOURCE))!.seq);
    }
    expect(origins).toEqual([1, 2, 3, 4, 5]);
    expect(await recreateSource(hjsm, AGGREGATE_UP_STREAM, 'OUTPOST_UP_nowhere')).toBe(false);
  }, 60_000);
});
