import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { connectAgentBus } from '../../lib/bus/index.js';
import type { TlsFiles } from './server-config.js';
import { removeTempDirs, startTestServer, tempDir, type TestServer } from '../../lib/base/testing.js';
import { waitFor } from '../../test/helpers/wait.js';

/**
 * TLS from a site CA, with certificates made by openssl (the identity library will provide them in
 * the product): clients and the leaf link verify the server against the CA.
 */

function makePki(dir: string): { tls: TlsFiles; otherCa: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=Outpost test site CA',
  );
  run('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'other.key',
    '-out',
    'other.crt',
    '-days',
    '1',
    '-subj',
    '/CN=Some other CA',
  );
  return {
    tls: {
      certFile: path.join(dir, 'server.crt'),
      keyFile: path.join(dir, 'server.key'),
      caFile: path.join(dir, 'ca.crt'),
    },
    otherCa: path.join(dir, 'other.crt'),
  };
}

let hub: TestServer;
let lo: TestServer;
let pki: ReturnType<typeof makePki>;
let seed = '';

beforeAll(async () => {
  pki = makePki(tempDir('pki'));
  hub = await startTestServer({
    role: 'co',
    siteId: 'hq',
    tls: pki.tls,
    setup: (c) => void c.issueLeaf('s1'),
  });
  const leaf = hub.creds.issueLeaf('s1');
  lo = await startTestServer({
    role: 'lo',
    siteId: 's1',
    tls: pki.tls,
    hubLeaf: { url: hub.leafUrl!, user: leaf.user, password: leaf.password, tls: { caFile: pki.tls.caFile } },
    setup: (c) => {
      seed = c.issueNode('acme.n1', 's1').seed!;
    },
  });
}, 60_000);

afterAll(async () => {
  await lo?.stop();
  await hub?.stop();
  removeTempDirs();
});

describe('TLS from the site CA', () => {
  it('serves tls:// and an agent that trusts the site CA connects', async () => {
    expect(lo.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    const bus = await connectAgentBus({
      url: lo.url,
      seed,
      nodeUid: 'acme.n1',
      siteId: 's1',
      tls: { caFile: pki.tls.caFile },
    });
    try {
      const svc = await lo.connectService();
      const { jetstreamManager } = await import('@nats-io/jetstream');
      const { ensureSiteUpStream } = await import('./streams.js');
      await ensureSiteUpStream(await jetstreamManager(svc), 's1');
      expect((await bus.publishStatus({ over: 'tls' })).streamSeq).toBe(1);
    } finally {
      await bus.close();
    }
  });

  it('refuses a client that does not trust the site CA', async () => {
    await expect(
      connect({
        servers: lo.url,
        authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)),
        tls: { caFile: pki.otherCa },
        reconnect: false,
        timeout: 3000,
      }),
    ).rejects.toThrow();
  });

  it('joins the LO to the hub over a TLS leaf link', async () => {
    await waitFor(
      async () => {
        const r = await fetch(`${hub.sup.monitorUrl()}/leafz`);
        return ((await r.json()) as { leafnodes: number }).leafnodes === 1;
      },
      { what: 'the leaf link', timeoutMs: 15_000 },
    );
    const cfg = JSON.parse(fs.readFileSync(path.join(lo.dir, 'nats-server.conf'), 'utf8')) as {
      leafnodes: { remotes: { tls?: { ca_file: string } }[] };
    };
    expect(cfg.leafnodes.remotes[0]!.tls).toEqual({ ca_file: pki.tls.caFile });
  });
});
