import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { OutpostError } from '../../lib/errors/index.js';
import { EDGECTL, edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import {
  apiFor,
  enrollNode,
  startAgentProcess,
  wasmApp,
  wasmRunnerPids,
  writeAgentConfig,
  type AgentProcess,
  type Api,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * A deployment's workload output (ADR 0016), from a real agent running the sample module (greeting every
 * second): `edgectl agent logs` on the node (the last lines, one component, JSON, --follow until
 * SIGINT), and the console's `nodes.workloadLogs`, which the LO answers by asking the agent over the site
 * bus, and which says the node is unreachable once its agent is gone.
 */
describe('workload logs', () => {
  const serverHome = tempHome('outpost-logs-srv-');
  const agentHome = tempHome('outpost-logs-agent-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-logs-'));
  let server: ServerProcess;
  let api: Api;
  let agent: AgentProcess | undefined;
  let deploymentId = '';
  let name = '';

  beforeAll(async () => {
    server = await startServer(serverHome.home);
    api = apiFor(server);
    const sample = path.resolve('resources/samples/hello-wasm/hello.wasm');
    const pushed = await edgectl(['oci', 'push', sample, 'site/registry.example/samples/logs:1.0.0'], {
      env: { EDGE_HOME: serverHome.home },
    });
    expect(pushed.code, pushed.stderr).toBe(0);
    // The test app, with a second parameter: a greeting every second.
    const doc = parse(
      wasmApp({ id: 'logs-app', version: '1.0.0', repository: 'oci://registry.example/samples/logs' }),
    ) as { parameters: Record<string, unknown> };
    doc.parameters.interval = {
      value: '1',
      targets: [{ pointer: 'INTERVAL_SECONDS', components: ['hello'] }],
    };
    const margo = stringify(doc);
    expect(margo).toContain('INTERVAL_SECONDS');
    await api.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: margo } } });
    await api.sites.add({ id: 'plant-1' });
    await enrollNode(api, agentHome.home, 'edge-1', 'plant-1');
    writeAgentConfig(agentHome.home, { registries: { plainHttp: false } });
    agent = startAgentProcess(agentHome.home);
    await agent.waitForLog((l) => l.msg.startsWith('connected to the site bus'), 'the site bus');
    const d = await api.deployments.create({
      appId: 'logs-app',
      target: { siteId: 'plant-1' },
      parameters: { greeting: 'Moin from edge-1' },
    });
    deploymentId = d.id;
    name = d.name;
    await waitFor(
      async () => {
        const v = await api.deployments.get({ id: d.id });
        return v.nodes[0]?.state === 'installed' ? v : undefined;
      },
      { what: 'installed', intervalMs: 100 },
    );
  });

  afterAll(async () => {
    await agent?.stop();
    for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
    await server?.stop();
    agentHome.cleanup();
    serverHome.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('edgectl agent logs prints the last lines, by name prefix, id or component, and as JSON', async () => {
    const logs = (...args: string[]) => edgectl(['agent', 'logs', ...args, '--home', agentHome.home]);
    const r = await waitFor(
      async () => {
        const x = await logs('logs-app', '--tail', '2');
        return x.code === 0 && x.stdout.split('\n').filter(Boolean).length === 2 ? x : undefined;
      },
      { what: 'two greetings', intervalMs: 100 },
    );
    expect(r.stdout).toBe('Moin from edge-1\nMoin from edge-1\n');

    const j = await logs(deploymentId, '--component', 'hello', '--tail', '1', '-o', 'json');
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({
      deploymentId,
      name,
      components: [{ component: 'hello', kind: 'wasm', lines: ['Moin from edge-1'], truncated: true }],
    });

    const noComponent = await logs(name, '--component', 'nope');
    expect(noComponent.code).toBe(5);
    expect(noComponent.stderr).toMatch(/^edgectl: deployment .* has no component "nope" \(it has hello\)\n$/);
    const noDeployment = await logs('nothing-like-it');
    expect(noDeployment.code).toBe(5);
    expect(noDeployment.stderr).toMatch(/^edgectl: no deployment "nothing-like-it" on this node; it has /);
    const badTail = await logs(name, '--tail', '-3');
    expect(badTail.code).toBe(2);
  });

  it('edgectl agent logs --follow prints new output until Ctrl-C', async () => {
    const child = spawn(
      process.execPath,
      [EDGECTL, 'agent', 'logs', name, '--follow', '--tail', '0', '--home', agentHome.home],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await waitFor(() => out.split('\n').filter(Boolean).length >= 2, {
        what: 'two new greetings',
        intervalMs: 100,
      });
      expect(new Set(out.trim().split('\n'))).toEqual(new Set(['Moin from edge-1']));
      child.kill('SIGINT');
      expect(await exited, err).toBe(0);
      expect(err).toBe('');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('nodes.workloadLogs asks the agent over the site bus; a node without its agent is unreachable', async () => {
    const r = await api.nodes.workloadLogs({ name: 'edge-1', deploymentId, tail: 3 });
    expect(r.node).toBe('edge-1');
    expect(r.components).toHaveLength(1);
    expect(r.components[0]).toMatchObject({ component: 'hello', kind: 'wasm' });
    expect(r.components[0]!.lines).toEqual(['Moin from edge-1', 'Moin from edge-1', 'Moin from edge-1']);

    const wrong = await api.nodes
      .workloadLogs({ name: 'edge-1', deploymentId: 'no-such-deployment' })
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(OutpostError);
    expect((wrong as OutpostError).code).toBe('not-found');
    expect((wrong as OutpostError).message).toMatch(/^node edge-1: no deployment "no-such-deployment"/);
    const noNode = await api.nodes.workloadLogs({ name: 'edge-9', deploymentId }).catch((e: unknown) => e);
    expect((noNode as OutpostError).code).toBe('not-found');

    await agent!.stop();
    agent = undefined;
    const gone = await api.nodes.workloadLogs({ name: 'edge-1', deploymentId }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(OutpostError);
    expect((gone as OutpostError).code).toBe('node/unreachable');
    expect((gone as OutpostError).message).toBe(
      'node edge-1 cannot be asked for logs: it is not connected to the site bus',
    );
  });
});
