import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient } from '../helpers/mmi-client.js';
import { enrollOverMmi } from '../helpers/enroll.js';

/**
 * The site identity from the CLI, as an operator pointing an external Margo conformance tester (or a
 * device that cannot make a CSR) at the MMI would use it: export the anchors, issue a client SVID and key
 * into the file names the tester expects, allow and deny it; revoke an enrolled node.
 */
describe('edgectl site ca / client / clients, co revoke node', () => {
  const home = tempHome('outpost-sitecli-');
  let server: ServerProcess;
  const run = (...args: string[]) => edgectl([...args, '--home', home.home]);

  beforeAll(async () => {
    server = await startServer(home.home);
  });
  afterAll(async () => {
    await server?.stop();
    home.cleanup();
  });

  it('shows the CA the server created and refuses to replace it without --force', async () => {
    const r = await run('site', 'ca', 'init', '-o', 'json');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as {
      initialized: boolean;
      fingerprint: string;
      wfmSpiffeId: string;
      mmiUrl: string;
    };
    expect(info).toMatchObject({
      initialized: true,
      wfmSpiffeId: 'spiffe://outpost.local/margo/wfm/outpost',
      mmiUrl: server.info.mmiUrl,
    });
    expect(info.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await run('site', 'ca', 'init')).stdout).toMatch(/^site CA:\s+already initialised$/m);
  });

  it('exports the anchors and issues a client SVID the MMI accepts; deny takes effect at once', async () => {
    const anchors = path.join(home.home, 'out', 'anchors.pem');
    expect((await run('site', 'ca', 'export', '--out', anchors)).code).toBe(0);
    expect(fs.readFileSync(anchors, 'utf8')).toContain('BEGIN CERTIFICATE');
    expect((await run('site', 'ca', 'export', '--out', anchors)).stderr).toBe(
      `edgectl: ${anchors} already exists (use --force to replace it)\n`,
    );

    const dir = path.join(home.home, 'ctt');
    const issued = await run(
      'site',
      'client',
      'issue',
      '--client-id',
      'ctt-1',
      '--site',
      'local',
      '--out',
      dir,
    );
    expect(issued.code).toBe(0);
    expect(issued.stdout).toMatch(
      /^issued spiffe:\/\/outpost\.local\/margo\/wfm\/outpost\/client\/ctt-1 until .* \(allowed\)$/m,
    );
    expect(fs.statSync(path.join(dir, 'client-svid-key.pem')).mode & 0o777).toBe(0o600);
    const c = createMmiClient({
      baseUrl: server.info.mmiUrl!,
      certPem: fs.readFileSync(path.join(dir, 'client-svid-cert.pem'), 'utf8'),
      keyPem: fs.readFileSync(path.join(dir, 'client-svid-key.pem'), 'utf8'),
      anchorsPem: [fs.readFileSync(path.join(dir, 'trust-bundle-ca.pem'), 'utf8')],
      keepAlive: true,
    });
    try {
      const ok = await c.get('/api/v1/deployments');
      expect(ok.status).toBe(200);
      expect(ok.json()).toEqual({ manifestVersion: 1, bundle: null, deployments: [] });
      const list = JSON.parse((await run('site', 'clients', 'list', '-o', 'json')).stdout) as {
        policy: { pattern: string; effect: string }[];
      };
      expect(list.policy).toContainEqual(
        expect.objectContaining({
          pattern: 'spiffe://outpost.local/margo/wfm/outpost/client/ctt-1',
          effect: 'allow',
        }),
      );
      expect(
        (await run('site', 'clients', 'deny', 'spiffe://outpost.local/margo/wfm/outpost/client/ctt-1')).code,
      ).toBe(0);
      expect((await c.get('/api/v1/deployments')).status).toBe(403);
      expect(
        (await run('site', 'clients', 'allow', 'spiffe://outpost.local/margo/wfm/outpost/client/*')).code,
      ).toBe(0);
      // A deny entry always wins over an allow of the prefix.
      expect((await c.get('/api/v1/deployments')).status).toBe(403);
    } finally {
      c.close();
    }
    expect((await run('site', 'clients', 'deny', 'not-a-spiffe-id')).code).toBe(2);
  });

  it('issues a client only for a site this server serves', async () => {
    const issue = (site: string) =>
      run(
        'site',
        'client',
        'issue',
        '--client-id',
        `ctt-${site}`,
        '--site',
        site,
        '--out',
        path.join(home.home, site),
      );
    expect((await run('co', 'add', 'site', 'line-2')).code).toBe(0);
    expect((await issue('line-2')).code).toBe(0);

    expect((await run('co', 'add', 'site', 'far-away', '--remote')).code).toBe(0);
    const remote = await issue('far-away');
    expect(remote.code).toBe(2);
    expect(remote.stderr).toBe(
      'edgectl: site "far-away" is served by its own LO, whose CA this server does not hold; issue the client there\n',
    );
    const unknown = await issue('nowhere');
    expect(unknown.code).toBe(5);
    expect(unknown.stderr).toMatch(/^edgectl: .*nowhere.*\n$/);
    for (const site of ['far-away', 'nowhere']) {
      expect(fs.existsSync(path.join(home.home, site))).toBe(false);
      const policy = JSON.parse((await run('site', 'clients', 'list', '-o', 'json')).stdout) as {
        policy: { pattern: string }[];
      };
      expect(policy.policy.map((p) => p.pattern)).not.toContain(
        `spiffe://outpost.local/margo/wfm/outpost/client/ctt-${site}`,
      );
    }
  });

  it('revokes an enrolled node: refused from its next request on', async () => {
    expect((await run('co', 'add', 'site', 'plant')).code).toBe(0);
    const t = JSON.parse(
      (await run('co', 'enroll-token', 'create', '--node', 'edge-9', '--site', 'plant', '-o', 'json')).stdout,
    ) as { token: string; caFingerprint: string };
    const node = await enrollOverMmi(server.info.mmiUrl!, t);
    const c = createMmiClient({ baseUrl: server.info.mmiUrl!, ...node, keepAlive: true });
    try {
      expect((await c.get('/api/v1/deployments')).status).toBe(200);
      const r = await run('co', 'revoke', 'node', 'edge-9');
      expect(r.stdout).toBe('revoked default.edge-9 (1 certificate)\n');
      expect((await c.get('/api/v1/deployments')).status).toBe(403);
      const nodes = JSON.parse((await run('co', 'list', 'nodes', '-o', 'json')).stdout) as {
        nodes: { name: string; state: string; presence: string }[];
      };
      expect(nodes.nodes.find((n) => n.name === 'edge-9')).toMatchObject({
        state: 'revoked',
        presence: 'offline',
      });
    } finally {
      c.close();
    }
  });
});

describe('edgectl site ca init without a running server', () => {
  const home = tempHome('outpost-siteca-');
  let server: ServerProcess | undefined;
  const run = (...args: string[]) => edgectl([...args, '--home', home.home]);
  afterAll(async () => {
    await server?.stop();
    home.cleanup();
  });

  it('creates the CA in the home for the configured trust domain; the server then uses it', async () => {
    fs.writeFileSync(path.join(home.home, 'config.yaml'), 'mmi:\n  trustDomain: plant7.example\n');
    const r = await run('site', 'ca', 'init', '-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { fingerprint: string; trustDomain: string; mmiUrl: null };
    expect(info).toMatchObject({ initialized: true, trustDomain: 'plant7.example', mmiUrl: null });
    expect(fs.statSync(path.join(home.home, 'pki', 'site-ca', 'ca-key.pem')).mode & 0o777).toBe(0o600);
    expect((await run('site', 'ca', 'init')).stdout).toMatch(/^site CA:\s+already initialised$/m);

    server = await startServer(home.home);
    const shown = JSON.parse((await run('site', 'ca', 'init', '-o', 'json')).stdout) as {
      fingerprint: string;
      wfmSpiffeId: string;
    };
    expect(shown.fingerprint).toBe(info.fingerprint);
    expect(shown.wfmSpiffeId).toBe('spiffe://plant7.example/margo/wfm/outpost');
  });
});
