import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type Host } from '../../../core/server/host.js';
import { silentLogger } from '../../../lib/log/index.js';
import { removeTempDirs, tempDir } from '../../../lib/base/testing.js';
import { edgectl } from '../../../test/helpers/cli.js';
import { waitFor } from '../../../test/helpers/wait.js';

/** `edgectl co sites` against a real server with its embedded nats-server (a remote site that never joined). */

let host: Host;
beforeAll(async () => {
  host = await startHost({
    home: tempDir('cli-sites'),
    logger: silentLogger(),
    overrides: {
      server: { port: 0 },
      site: { id: 'hq', name: 'HQ' },
      nats: { port: 0, leafPort: 0 },
      registry: { port: 0, loopbackPort: 0 },
    },
  });
  await host.core.messaging.ready(30_000);
  await host.core.messaging.issueLeafCredentials('plant-9');
  const h = host;
  await waitFor(
    async () =>
      (await h.core.messaging.siteLinks()).some((l) => l.siteId === 'plant-9' && l.link === 'disconnected'),
    { what: 'the link state', timeoutMs: 15_000 },
  );
}, 60_000);
afterAll(async () => {
  await host?.stop();
  removeTempDirs();
});

const auth = () => ['--server', host.info.url, '--token', host.info.token];

describe('edgectl co sites', () => {
  it('lists each link with its state, backlog and data age (JSON)', async () => {
    const r = await edgectl(['co', 'sites', ...auth(), '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      links: { siteId: string; link: string; dataAgeSeconds: number | null }[];
    };
    expect(out.links.map((l) => [l.siteId, l.link])).toEqual([
      ['hq', 'local'],
      ['plant-9', 'disconnected'],
    ]);
    expect(out.links[1]!.dataAgeSeconds).toBeNull();
  });

  it('prints a table for people', async () => {
    const r = await edgectl(['co', 'sites', ...auth()]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SITE\s+LINK\s+SINCE\s+BACKLOG\s+LAST CONTACT\s+DATA AGE$/);
    expect(lines[2]).toMatch(/^plant-9\s+disconnected\s+\d+s ago\s+-\s+-\s+no data yet$/);
  });
});
