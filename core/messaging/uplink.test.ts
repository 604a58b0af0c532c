import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { silentLogger } from '../../lib/log/index.js';
import { ensureSiteUpStream } from './streams.js';
import { HEADER_SEQ, nodeSubject, upStreamName } from '../../lib/bus/index.js';
import { createUplinkReader, type UpMessage } from './uplink.js';
import { removeTempDirs, startTestServer, tempDir, type TestServer } from '../../lib/base/testing.js';
import { waitFor } from '../../test/helpers/wait.js';

/** The reader's rules against a real stream: once per node sequence, resume after restarts, skip a poison message. */

let server: TestServer;
let nc: NatsConnection;
const cursorFile = () => path.join(dir, 'cursor.json');
let dir = '';

beforeAll(async () => {
  dir = tempDir('uplink');
  server = await startTestServer({ role: 'lo', siteId: 's1' });
  nc = await server.connectService();
  await ensureSiteUpStream(await jetstreamManager(nc), 's1');
});
afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

async function publish(node: string, seq: number, body: unknown): Promise<void> {
  const h = headers();
  h.set(HEADER_SEQ, String(seq));
  await jetstream(nc).publish(nodeSubject('s1', node, 'status'), JSON.stringify(body), { headers: h });
}

function reader(got: UpMessage[], handle?: (m: UpMessage) => void) {
  return createUplinkReader({
    nc,
    stream: upStreamName('s1'),
    cursorFile: cursorFile(),
    logger: silentLogger(),
    attempts: 2,
    handle: (m) => {
      handle?.(m);
      got.push(m);
    },
  });
}

describe('uplink reader', () => {
  it('hands each node sequence once, in order, and drops replays', async () => {
    const got: UpMessage[] = [];
    const r = reader(got);
    await r.start();
    await publish('acme.a', 10, { n: 1 });
    await publish('acme.a', 11, { n: 2 });
    await publish('acme.a', 11, { n: 'replay' }); // same seq, new stream message (e.g. a re-sourced copy)
    await publish('acme.b', 5, { n: 1 });
    await publish('acme.a', 9, { n: 'old' });
    await waitFor(() => r.position() === 5, { what: 'all five read', timeoutMs: 15_000 });
    await r.stop();
    expect(got.map((m) => [m.nodeUid, m.seq, m.body])).toEqual([
      ['acme.a', 10, { n: 1 }],
      ['acme.a', 11, { n: 2 }],
      ['acme.b', 5, { n: 1 }],
    ]);
    expect(r.duplicates()).toBe(2);
  });

  it('resumes after its cursor when started again', async () => {
    await publish('acme.a', 12, { n: 3 });
    const got: UpMessage[] = [];
    const r = reader(got);
    await r.start();
    await waitFor(() => r.position() === 6, { what: 'the new message', timeoutMs: 15_000 });
    await r.stop();
    expect(got.map((m) => m.body)).toEqual([{ n: 3 }]);
  });

  it('skips a message whose handler keeps failing, and goes on', async () => {
    await publish('acme.c', 1, { poison: true });
    await publish('acme.c', 2, { fine: true });
    const got: UpMessage[] = [];
    const r = reader(got, (m) => {
      if ((m.body as { poison?: boolean }).poison) throw new Error('cannot apply');
    });
    await r.start();
    await waitFor(() => r.position() === 8, { what: 'both read', timeoutMs: 15_000 });
    await r.stop();
    expect(got.map((m) => m.body)).toEqual([{ fine: true }]);
  });

  it('starts over when the stream was made again', async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(upStreamName('s1'));
    await ensureSiteUpStream(jsm, 's1');
    await publish('acme.a', 20, { after: 'reset' });
    const got: UpMessage[] = [];
    const r = reader(got);
    await r.start();
    await waitFor(() => got.length === 1, { what: 'the message of the new stream', timeoutMs: 15_000 });
    await r.stop();
    expect(got[0]).toMatchObject({ nodeUid: 'acme.a', seq: 20, streamSeq: 1 });
  });
});
