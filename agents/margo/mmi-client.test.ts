import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/base/index.js';
import { clientSpiffeId, mtlsClientOptions } from '../../lib/identity/index.js';
import { issueTestSvid, startMemoryMmi, type MemoryMmi } from '../../core/mmi/testing/memory-fixture.js';
import { createMmiClient, type MmiClient } from './mmi-client.js';

/**
 * ADR 0503: a kept connection that the LO (or anything on the path) reset before answering costs the agent
 * one more request on a new connection, not a poll period. Between the client and a real MMI server a
 * relay resets a kept connection when the next request arrives on it, as a server that closed it would.
 */
describe('agent MMI client: a kept connection reset before the answer', () => {
  let mmi: MemoryMmi;
  let relay: net.Server;
  let client: MmiClient;
  let connections = 0;
  /** Reset the next request that arrives on a connection that already carried one. */
  let resetNext = false;
  const open = new Set<net.Socket>();

  beforeAll(async () => {
    mmi = await startMemoryMmi();
    const target = new URL(mmi.baseUrl);
    relay = net.createServer((inbound) => {
      connections++;
      open.add(inbound);
      let answered = false;
      const outbound = net.connect(Number(target.port), target.hostname);
      const end = () => {
        inbound.destroy();
        outbound.destroy();
        open.delete(inbound);
      };
      inbound.on('error', end).on('close', end);
      outbound.on('error', end).on('close', end);
      outbound.on('data', (d: Buffer) => {
        answered = true;
        inbound.write(d);
      });
      inbound.on('data', (d: Buffer) => {
        // A TLS handshake is done and a request answered before: this is a kept connection's next request.
        if (resetNext && answered) {
          resetNext = false;
          inbound.resetAndDestroy();
          outbound.destroy();
          return;
        }
        outbound.write(d);
      });
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as net.AddressInfo).port;
    mmi.backend.accept('n1');
    const svid = await issueTestSvid(mmi.siteCa, clientSpiffeId(mmi.trustDomain, mmi.wfmId, 'n1'));
    client = createMmiClient({
      baseUrl: `https://127.0.0.1:${port}`,
      tls: mtlsClientOptions({
        certPem: svid.certPem,
        keyPem: svid.keyPem,
        anchorsPem: [mmi.siteCa.certPem],
      }),
      timeoutMs: 20_000,
      clock: systemClock,
    });
  });
  afterAll(async () => {
    client?.close();
    for (const s of open) s.destroy();
    await new Promise((r) => relay?.close(r));
    await mmi?.close();
  });

  it('a poll and a status report are sent again at once on a new connection', async () => {
    expect((await client.getManifest(undefined)).kind).toBe('manifest');
    expect(connections).toBe(1);
    expect((await client.getManifest(undefined)).kind).toBe('manifest');
    expect(connections).toBe(1); // the connection was kept

    resetNext = true;
    expect((await client.getManifest(undefined)).kind).toBe('manifest');
    expect(resetNext).toBe(false); // the reset happened
    expect(connections).toBe(2);

    // A status report (repeatable): the LO answers it (here: not in this client's manifests, a 404
    // problem) on the new connection rather than the client failing with a network error.
    resetNext = true;
    const err = await client
      .postStatus({
        deploymentId: '4a1f2c3d-0000-4000-8000-000000000001',
        adoptedManifestVersion: 1,
        status: { state: 'installed' },
        components: [],
      } as never)
      .catch((e: unknown) => e as { code?: string });
    expect(resetNext).toBe(false);
    expect(err).toMatchObject({ code: 'agent/mmi-problem' });
    expect(connections).toBe(3);
  });

  it('a POST that may not be repeated is not sent again: the reset is the caller’s error', async () => {
    await client.getManifest(undefined);
    resetNext = true;
    const before = connections;
    const err = await client
      .request('POST', '/api/v1/outpost/renew', { json: {} })
      .catch((e: unknown) => e as { code?: string; message: string });
    expect(resetNext).toBe(false);
    expect(err).toMatchObject({ code: 'network-error' });
    expect(connections).toBe(before);
  });
});
