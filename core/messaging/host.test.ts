import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { startHost, type Host } from '../server/host.js';
import { silentLogger } from '../../lib/log/index.js';
import { removeTempDirs, tempDir } from '../../lib/base/testing.js';
import { waitFor } from '../../test/helpers/wait.js';

/** The headless server (startHost, as `edgectl server` runs it) with and without a nats-server binary. */

let host: Host | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
});
afterAll(removeTempDirs);

async function rpc(
  h: Host,
  channel: string,
  body: unknown = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${h.info.url}/api/v1/rpc/${channel}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${h.info.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('embedded nats-server in the headless server', () => {
  it('without the binary: the server starts, status says missing-binary with the install hint, the API answers', async () => {
    const home = tempDir('host-nonats');
    const missing = path.join(home, 'nowhere', 'nats-server');
    host = await startHost({
      home,
      logger: silentLogger(),
      overrides: {
        server: { port: 0 },
        nats: { binary: missing, port: 0, leafPort: 0 },
        registry: { port: 0, loopbackPort: 0 },
      },
    });
    const status = await host.core.client().system.status({});
    expect(status.nats).toMatchObject({ state: 'missing-binary', url: null, restarts: 0 });
    expect(status.nats!.message).toBe(
      `nats-server not found at ${missing} (nats.binary): install it with "sudo apt-get install nats-server" (Debian/Ubuntu) or set nats.binary in <home>/config.yaml; the console keeps working with polling only`,
    );
    const overHttp = await rpc(host, 'system.status');
    expect(overHttp.status).toBe(200);
    expect(overHttp.json.nats).toMatchObject({ state: 'missing-binary' });
    const links = await rpc(host, 'messaging.siteLinks');
    expect(links.status).toBe(200);
    expect(links.json.links).toEqual([expect.objectContaining({ siteId: 'local', link: 'local' })]);
    expect(host.info.natsUrl).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(host.paths.serverJson, 'utf8'))).not.toHaveProperty('natsUrl');
    expect(host.core.messaging.notifyPollNow('local', 'default.press-01')).toBe(false);
    // Enrollment can still issue credentials; they apply once nats-server is installed.
    const cred = await host.core.messaging.issueNodeCredentials('default.press-01', 'local');
    expect(cred.user).toMatch(/^U/);
  });

  it('with the binary: server.json carries natsUrl, the status turns running, nothing is left after stop', async () => {
    const home = tempDir('host-nats');
    host = await startHost({
      home,
      logger: silentLogger(),
      overrides: {
        server: { port: 0 },
        nats: { port: 0, leafPort: 0 },
        registry: { port: 0, loopbackPort: 0 },
      },
    });
    const natsUrl = host.info.natsUrl!;
    // TLS with a certificate from the site CA is the default.
    expect(natsUrl).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    expect(natsUrl).not.toMatch(/:4222$/);
    expect(JSON.parse(fs.readFileSync(host.paths.serverJson, 'utf8'))).toMatchObject({ natsUrl });
    const h = host;
    await waitFor(async () => (await h.core.client().system.status({})).nats?.state === 'running', {
      what: 'nats running',
      timeoutMs: 20_000,
    });
    const caFile = path.join(home, 'pki', 'site-ca', 'ca.pem');
    await expect(connect({ servers: natsUrl, reconnect: false, tls: { caFile } })).rejects.toThrow(
      /authorization/i,
    );
    await host.stop();
    host = undefined;
    expect(h.core.messaging.natsState().state).toBe('stopped');
    await expect(connect({ servers: natsUrl, reconnect: false, timeout: 1000 })).rejects.toThrow();
  });
});
