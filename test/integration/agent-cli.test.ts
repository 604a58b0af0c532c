import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createEnrollmentToken } from '../../lib/identity/index.js';
import { createSiteCa } from '../../core/ca/index.js';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import {
  apiFor,
  freePort,
  startAgentProcess,
  writeAgentConfig,
  type Api,
} from '../fixtures/agent/harness.js';

/**
 * `edgectl agent enroll | status | install-service` as an operator uses them: every expected enrollment
 * failure prints one clear line and exits non-zero without writing an identity; status works from the
 * files alone; the systemd unit is rendered and written where asked (never into the real /etc here).
 */
describe('edgectl agent: enroll, status, install-service', () => {
  const serverHome = tempHome('outpost-agentc-srv-');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-agentc-'));
  let server: ServerProcess;
  let api: Api;
  let n = 0;
  const home = () => path.join(scratch, `home-${++n}`);
  const oneLine = (s: string) => s.trim().split('\n').length === 1;

  beforeAll(async () => {
    server = await startServer(serverHome.home);
    api = apiFor(server);
    await api.sites.add({ id: 'plant-c' });
  });
  afterAll(async () => {
    await server?.stop();
    serverHome.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('refuses a token that is not a token', async () => {
    const h = home();
    const r = await edgectl([
      'agent',
      'enroll',
      '--home',
      h,
      '--token',
      'opt1.garbage',
      '--lo',
      server.info.mmiUrl!,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^edgectl: the enrollment token is not valid: /);
    expect(oneLine(r.stderr)).toBe(true);
    expect(fs.existsSync(path.join(h, 'identity'))).toBe(false);
  });

  it('refuses an expired token before contacting the LO', async () => {
    const ca = await createSiteCa({ trustDomain: 'x.example', name: 'x', now: Date.now() });
    const { token } = createEnrollmentToken({
      siteId: 'plant-c',
      nodeName: 'old',
      tenantId: 'default',
      caFingerprint: ca.fingerprint,
      lmmiUrl: server.info.mmiUrl!,
      expiresAt: Date.now() - 60_000,
    });
    const r = await edgectl(['agent', 'enroll', '--home', home(), '--token', token]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /^edgectl: the enrollment token for node "old" expired at \S+; ask the operator for a new one\n$/,
    );
  });

  it('says when the LO cannot be reached', async () => {
    const t = await api.identity.createEnrollToken({ node: 'far', siteId: 'plant-c', ttlMinutes: 5 });
    const r = await edgectl([
      'agent',
      'enroll',
      '--home',
      home(),
      '--token',
      t.token,
      '--lo',
      `https://127.0.0.1:${await freePort()}`,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^edgectl: cannot reach the LO at https:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n$/);
  });

  it('refuses an LO that does not present the site CA named in the token (no trust on first use)', async () => {
    const other = await createSiteCa({ trustDomain: 'other.example', name: 'other', now: Date.now() });
    const { token } = createEnrollmentToken({
      siteId: 'plant-c',
      nodeName: 'pinned',
      tenantId: 'default',
      caFingerprint: other.fingerprint,
      lmmiUrl: server.info.mmiUrl!,
      expiresAt: Date.now() + 600_000,
    });
    const h = home();
    const r = await edgectl(['agent', 'enroll', '--home', h, '--token', token]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /^edgectl: the server at https:\/\/127\.0\.0\.1:\d+ is not the site named in the token \(CA fingerprint mismatch\): /,
    );
    expect(oneLine(r.stderr)).toBe(true);
    expect(fs.existsSync(path.join(h, 'identity', 'key.pem'))).toBe(false);
  });

  it('enrolls once; the token does not work twice; an enrolled home is not overwritten without --force', async () => {
    const t = await api.identity.createEnrollToken({ node: 'edge-c', siteId: 'plant-c', ttlMinutes: 5 });
    const h = home();
    const ok = await edgectl(['agent', 'enroll', '--home', h, '--token', t.token]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^enrolled edge-c \(spiffe:\/\/\S+\/client\/default\.edge-c\) at https:\/\/127\.0\.0\.1:\d+/,
    );
    expect(fs.statSync(path.join(h, 'identity', 'key.pem')).mode & 0o777).toBe(0o600);

    const again = await edgectl(['agent', 'enroll', '--home', h, '--token', t.token]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already enrolled as default\.edge-c .*--force/);

    const reused = await edgectl(['agent', 'enroll', '--home', home(), '--token', t.token]);
    expect(reused.code).not.toBe(0);
    expect(reused.stderr).toMatch(
      /^edgectl: the LO refused the enrollment \(403 not-authorized\): .*already used/,
    );
    expect(oneLine(reused.stderr)).toBe(true);

    const st = await edgectl(['agent', 'status', '--home', h]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/Node:\s+edge-c \(device edge-c, client default\.edge-c\)/);
    expect(st.stdout).toMatch(/Agent:\s+not running/);
    expect(st.stdout).toMatch(/Last sync:\s+never/);
    expect(st.stdout).toMatch(/Manifest:\s+none adopted yet/);
    // A deployment larger than the whole artifact cache (ADR 0342) says so in the table.
    const at = Date.now();
    fs.writeFileSync(
      path.join(h, 'state.json'),
      JSON.stringify({
        version: 1,
        manifestVersion: 3,
        deployments: {
          d1: {
            deploymentId: 'd1',
            name: 'big-app',
            desired: true,
            digest: `sha256:${'a'.repeat(64)}`,
            adoptedManifestVersion: 3,
            workloads: [],
            failures: 0,
            reported: {
              state: 'installing',
              adoptedManifestVersion: 3,
              components: [{ name: 'web', state: 'installing' }],
              at,
            },
            cacheOverLimit: { neededBytes: 3000, maxBytes: 1000 },
            restarts: { web: { specHash: 'h1', restarts: 4, consecutive: 2 } },
            updatedAt: at,
          },
        },
      }),
    );
    const big = await edgectl(['agent', 'status', '--home', h]);
    expect(big.code, big.stderr).toBe(0);
    expect(big.stdout).toMatch(
      /^big-app +d1 +\S+.* 4 +needs 3000 bytes of cache, more than cache\.maxBytes 1000$/m,
    );
    // The agent's restarts of each component (ADR 0207), summed on the deployment's row.
    expect(big.stdout).toMatch(/^DEPLOYMENT +ID +STATE +MANIFEST +SINCE +RESTARTS +ERROR$/m);
    expect(big.stdout).toMatch(/^ {2}web +installing +4 +-$/m);
    fs.rmSync(path.join(h, 'state.json'));
    const js = JSON.parse((await edgectl(['agent', 'status', '--home', h, '-o', 'json'])).stdout) as Record<
      string,
      unknown
    >;
    expect(js).toMatchObject({
      enrolled: true,
      node: 'edge-c',
      site: 'plant-c',
      lo: server.info.mmiUrl,
      manifestVersion: 0,
      lastSync: null,
    });
  });

  it('enrolls and runs in one go with edgectl agent --token', async () => {
    const t = await api.identity.createEnrollToken({ node: 'edge-run', siteId: 'plant-c', ttlMinutes: 5 });
    const h = home();
    writeAgentConfig(h, { runtimes: { container: { enabled: false }, compose: { enabled: false } } });
    const agent = startAgentProcess(h, {}, ['--token', t.token]);
    try {
      await agent.waitForLog((l) => l.msg === 'desired state adopted', 'the first manifest');
      expect(agent.stderr()).toContain('edgectl: enrolled as default.edge-run at https://127.0.0.1:');
      expect(agent.stderr()).not.toContain(t.token);
      expect(fs.existsSync(path.join(h, 'identity', 'enrollment.json'))).toBe(true);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });

  it('status of a home that is not enrolled says so; running it without a token says how to enroll', async () => {
    const h = home();
    const st = await edgectl(['agent', 'status', '--home', h]);
    expect(st.code).toBe(0);
    expect(st.stdout).toContain('not enrolled');
    const run = await edgectl(['agent', '--home', h], { env: { EDGE_AGENT_TOKEN: '' } });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /^edgectl: this agent is not enrolled \(.*\); run "edgectl agent enroll --lo <URL> --token <TOKEN>", or pass --token, or --discover --request to ask for approval\n$/,
    );
  });

  it('renders the systemd unit (--dry-run) and writes it to --unit-dir', async () => {
    const h = path.join(scratch, 'service home');
    const dry = await edgectl([
      'agent',
      'install-service',
      '--dry-run',
      '--home',
      h,
      '--lo',
      'https://lo.example:7443',
    ]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(
      `ExecStart=${process.execPath} ${path.resolve('bin/edgectl.js')} agent --home "${h}" --lo https://lo.example:7443`,
    );
    expect(dry.stdout).toContain('Restart=on-failure');
    expect(dry.stdout).toContain('KillMode=process');
    expect(dry.stdout).toMatch(/^Type=simple$/m);
    expect(dry.stdout).not.toContain('@');
    const unitDir = path.join(scratch, 'units');
    fs.mkdirSync(unitDir);
    const w = await edgectl(['agent', 'install-service', '--unit-dir', unitDir, '--home', h]);
    expect(w.code, w.stderr).toBe(0);
    const unit = fs.readFileSync(path.join(unitDir, 'outpost-agent.service'), 'utf8');
    expect(unit).toContain(`--home "${h}"`);
    expect(fs.statSync(path.join(unitDir, 'outpost-agent.service')).mode & 0o777).toBe(0o644);
    const missing = await edgectl(['agent', 'install-service', '--unit-dir', path.join(scratch, 'nope')]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/^edgectl: the unit folder .* does not exist/);
  });
});
