import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  apiFor,
  compileHello,
  enrollNode,
  startAgentProcess,
  wasmApp,
  wasmOutputs,
  wasmRunnerPids,
  writeAgentConfig,
  type AgentProcess,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The air gap round trip (issue 13) across two separate homes and nothing but files: HQ (`edgectl server
 * --role co`) and a site (`--role lo`) that never talk to each other. Keys are exchanged once as files;
 * the site's status bundle brings its node to HQ; HQ deploys a WASM application and exports a bundle
 * (the module fetched from a registry only HQ reaches); that registry is then stopped, and the site
 * imports the bundle: the agent enrolled at the site runs the module it pulls from the site registry,
 * the only place the module is. The site's next status bundle shows HQ the application installed, with
 * the time it was installed.
 */
describe('air gap round trip (two homes, files only)', () => {
  const hqHome = tempHome('outpost-rt-hq-');
  const siteHome = tempHome('outpost-rt-site-');
  const agentHome = tempHome('outpost-rt-agent-');
  const drive = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-rt-drive-'));
  let origin: TestRegistry | undefined;
  let hq: ServerProcess;
  let site: ServerProcess;
  let agent: AgentProcess | undefined;
  let deploymentId = '';

  const cli = async (home: string, args: string[], timeoutMs = 120_000) => {
    const r = await edgectl([...args, '--home', home], { timeoutMs });
    expect(r.code, `edgectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // never a stack trace
    return r;
  };
  const json = async <T>(home: string, args: string[]) =>
    JSON.parse((await cli(home, [...args, '-o', 'json'])).stdout) as T;
  const onDrive = (prefix: string) => {
    const f = fs
      .readdirSync(drive)
      .filter((n) => n.startsWith(prefix) && n.endsWith('.outpost.tar'))
      .sort();
    return path.join(drive, f[f.length - 1]!);
  };

  beforeAll(async () => {
    origin = await startRegistry();
    const wasm = await compileHello('hello across the air gap', drive, 'hello');
    const pushed = await edgectl(['oci', 'push', wasm, `${origin.host}/samples/hello:1.0.0`, '--plain-http']);
    expect(pushed.code, pushed.stderr).toBe(0);
    fs.rmSync(wasm);
    fs.writeFileSync(
      path.join(hqHome.home, 'config.yaml'),
      stringify({ role: 'co', nats: { enabled: false } }),
    );
    fs.writeFileSync(
      path.join(siteHome.home, 'config.yaml'),
      stringify({ role: 'lo', site: { id: 'plant-1', name: 'Plant 1' }, nats: { enabled: false } }),
    );
    hq = await startServer(hqHome.home);
    site = await startServer(siteHome.home);
    fs.writeFileSync(
      path.join(drive, 'margo.yaml'),
      wasmApp({ id: 'hello', version: '1.0.0', repository: `oci://${origin.host}/samples/hello` }),
    );
  }, 120_000);

  afterAll(async () => {
    await agent?.stop();
    for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
    await site?.stop();
    await hq?.stop();
    await origin?.stop();
    for (const h of [hqHome, siteHome, agentHome]) h.cleanup();
    fs.rmSync(drive, { recursive: true, force: true });
  });

  it('exchanges keys once, as files, and marks the site air-gapped', async () => {
    await cli(hqHome.home, ['bundle', 'key', 'export', '--out', path.join(drive, 'hq.pub')]);
    await cli(siteHome.home, ['bundle', 'key', 'export', '--out', path.join(drive, 'plant-1.pub')]);
    expect(fs.readFileSync(path.join(drive, 'hq.pub'), 'utf8')).toMatch(
      /^untrusted comment: minisign public key/,
    );
    const key = fs.readdirSync(path.join(hqHome.home, 'keys', 'bundle')).find((f) => f.endsWith('.key'))!;
    expect(fs.statSync(path.join(hqHome.home, 'keys', 'bundle', key)).mode & 0o777).toBe(0o600);
    await cli(siteHome.home, ['bundle', 'trust', 'add', path.join(drive, 'hq.pub'), '--name', 'hq']);
    await cli(hqHome.home, ['co', 'add', 'site', 'plant-1', '--air-gapped']);
    await cli(hqHome.home, [
      'bundle',
      'trust',
      'add',
      path.join(drive, 'plant-1.pub'),
      '--site',
      'plant-1',
      '--name',
      'plant-1 lo',
    ]);
    const trusted = await json<{ siteId: string | null; name: string }[]>(hqHome.home, [
      'bundle',
      'trust',
      'list',
    ]);
    expect(trusted).toMatchObject([{ siteId: 'plant-1', name: 'plant-1 lo' }]);
    const sites = await json<{ id: string; airGapped: boolean }[]>(hqHome.home, ['co', 'list', 'sites']);
    expect(sites).toMatchObject([{ id: 'plant-1', airGapped: true }]);
    const table = (await cli(hqHome.home, ['co', 'list', 'sites'])).stdout;
    expect(table).toContain('air-gapped, no bundle yet');
  }, 180_000);

  it("the site's node reaches HQ in a status bundle", async () => {
    await enrollNode(apiFor(site), agentHome.home, 'edge-1', 'plant-1');
    writeAgentConfig(agentHome.home, { registries: { plainHttp: false } });
    agent = startAgentProcess(agentHome.home);
    await agent.waitForLog((l) => l.msg === 'capabilities sent', 'capabilities sent', 60_000);
    await cli(siteHome.home, ['bundle', 'export-status', '--out', drive]);
    const file = onDrive('plant-1-to-hq-');
    const verified = await cli(hqHome.home, ['bundle', 'verify', file]);
    expect(verified.stdout).toContain('status bundle of site plant-1 -> hq');
    expect(verified.stdout).toContain('nothing was changed');
    await cli(hqHome.home, ['bundle', 'import', file]);
    const { nodes } = await json<{ nodes: { name: string; state: string; capabilities: unknown }[] }>(
      hqHome.home,
      ['co', 'list', 'nodes', '--site', 'plant-1'],
    );
    expect(nodes).toMatchObject([{ name: 'edge-1', state: 'enrolled' }]);
    expect(nodes[0]!.capabilities).not.toBeNull();
  }, 180_000);

  it('HQ deploys and exports; the site imports; the agent runs the module that came only through the bundle', async () => {
    await cli(hqHome.home, ['co', 'add', 'app', '--artifact', path.join(drive, 'margo.yaml')]);
    const d = await json<{ id: string; nodeCount: number }>(hqHome.home, [
      'co',
      'deploy',
      '--app',
      'hello',
      '--site',
      'plant-1',
    ]);
    expect(d.nodeCount).toBe(1);
    deploymentId = d.id;
    const exported = await cli(hqHome.home, ['bundle', 'export', '--site', 'plant-1', '--out', drive]);
    expect(exported.stdout).toMatch(
      /wrote .*hq-to-plant-1-1\.outpost\.tar \(bundle #1 for plant-1\): .* in .*\/s/,
    );
    expect(exported.stdout).toMatch(/carries 1 commit, 1 artifact \(.*\), 1 application/);
    // The registry HQ fetched the module from goes away: the site can get it only from the bundle.
    await origin!.stop();
    origin = undefined;

    const file = onDrive('hq-to-plant-1-');
    const verified = await cli(siteHome.home, ['bundle', 'verify', file]);
    expect(verified.stdout).toMatch(/desired state:\s+1 new commit/);
    expect(verified.stdout).toMatch(/artifacts:\s+1 referenced, 1 new/);
    const imported = await cli(siteHome.home, ['bundle', 'import', file]);
    expect(imported.stdout).toContain('imported bundle #1 from hq');
    await waitFor(() => wasmOutputs(agentHome.home).includes('hello across the air gap'), {
      what: 'the module runs',
      timeoutMs: 90_000,
      intervalMs: 100,
    });
    expect(agent!.logs().some((l) => /site registry/.test(l.msg))).toBe(true);
    // A second import of the same file is a replay: refused in one line, exit 2.
    const again = await edgectl(['bundle', 'import', file, '-q', '--home', siteHome.home]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    expect(again.stderr).toContain('already imported');
  }, 180_000);

  it('the site reports back; HQ shows the application installed, when, and the age of what it knows', async () => {
    await waitFor(
      async () => {
        await cli(siteHome.home, ['bundle', 'export-status', '--out', drive, '--overwrite']);
        const file = onDrive('plant-1-to-hq-');
        const v = JSON.parse((await cli(hqHome.home, ['bundle', 'verify', file, '-o', 'json'])).stdout) as {
          changes: { status: { statuses: number } };
        };
        if (v.changes.status.statuses === 0) return undefined;
        await cli(hqHome.home, ['bundle', 'import', file]);
        return true;
      },
      { what: 'a status bundle carrying the installed report', timeoutMs: 90_000, intervalMs: 1000 },
    );
    const view = await json<{ nodes: { nodeName: string; state: string; stateAt: number }[] }>(hqHome.home, [
      'co',
      'show',
      'deployment',
      deploymentId,
    ]);
    expect(view.nodes[0]).toMatchObject({ nodeName: 'edge-1', state: 'installed' });
    const history = await json<{
      streams: { kind: string; lastImported: { created: number } | null; acknowledged: number | null }[];
    }>(hqHome.home, ['bundle', 'history']);
    const fromSite = history.streams.find((s) => s.kind === 'site-to-hq')!;
    // Installed before the bundle that says so was made: the time it happened, not the time HQ heard.
    expect(view.nodes[0]!.stateAt).toBeLessThanOrEqual(fromSite.lastImported!.created);
    expect(history.streams.find((s) => s.kind === 'hq-to-site')!.acknowledged).toBe(1);
    const shown = (await cli(hqHome.home, ['co', 'show', 'site', 'plant-1'])).stdout;
    expect(shown).toMatch(/reached:\s+air-gapped, last bundle moments ago/);
    expect(shown).toMatch(/last status bundle:\s+#\d+, as of a bundle made .* ago/);
  }, 180_000);
});
