import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { startTestCore } from '../helpers/core.js';
import { connectAgentBus } from '../../lib/bus/index.js';

/** The embedded nats-server speaks TLS with a certificate from the site CA; plain connections are refused. */
describe('embedded NATS over TLS from the site CA', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let creds: { user: string; seed: string };
  let caFile = '';

  beforeAll(async () => {
    t = await startTestCore({ overrides: { nats: { enabled: true }, mmi: { enabled: true } } });
    await t.core.messaging.ready(20_000);
    await t.core
      .client()
      .sites.add({ id: 'local' })
      .catch(() => undefined);
    const c = await t.core.messaging.issueNodeCredentials('default.n1', 'local');
    creds = { user: c.user, seed: c.seed! };
    caFile = path.join(t.home, 'pki', 'site-ca', 'ca.pem');
  }, 60_000);
  afterAll(async () => t.stop());

  it('generates a TLS block with the site CA and a server certificate for the local names', () => {
    const conf = fs.readFileSync(path.join(t.home, 'nats', 'nats-server.conf'), 'utf8');
    expect(conf).toMatch(/"tls"\s*:\s*\{/);
    expect(conf).toContain(path.join(t.home, 'pki', 'nats', 'server.pem'));
  });

  it('accepts a node that verifies the server with the site CA', async () => {
    const bus = await connectAgentBus({
      url: t.core.messaging.natsUrl()!,
      ...creds,
      nodeUid: 'default.n1',
      siteId: 'local',
      tls: { caFile },
    });
    await bus.heartbeat();
    await bus.close();
  });

  it('refuses a client that does not speak TLS, and one that trusts another CA', async () => {
    await expect(
      Promise.race([
        connectAgentBus({
          url: t.core.messaging.natsUrl()!,
          ...creds,
          nodeUid: 'default.n1',
          siteId: 'local',
        }).then(async (b) => {
          await b.heartbeat();
          await b.close();
          return 'connected';
        }),
        new Promise((_, reject) => setTimeout(() => reject(new Error('refused (timed out)')), 3000)),
      ]),
    ).rejects.toThrow();
    const other = path.join(t.home, 'other-ca.pem');
    fs.writeFileSync(other, fs.readFileSync(path.join(t.home, 'pki', 'wfm', 'cert.pem'))); // not a CA at all
    await expect(
      Promise.race([
        connectAgentBus({
          url: t.core.messaging.natsUrl()!,
          ...creds,
          nodeUid: 'default.n1',
          siteId: 'local',
          tls: { caFile: other },
        }).then(async (b) => {
          await b.heartbeat();
          await b.close();
          return 'connected';
        }),
        new Promise((_, reject) => setTimeout(() => reject(new Error('refused (timed out)')), 3000)),
      ]),
    ).rejects.toThrow();
  });
});
