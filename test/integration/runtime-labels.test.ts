import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import {
  apiFor,
  enrollNode,
  startAgentProcess,
  wasmRunnerPids,
  writeAgentConfig,
  type AgentProcess,
  type Api,
} from '../fixtures/agent/harness.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 12: the sample app's eligibility rule (`outpost.dev/runtime.wasm In ["true"]`) must place on a
 * freshly enrolled node. `edgectl server` and two real `edgectl agent` processes enrolled with one-time
 * tokens: each reports a label per runtime it can really run; the sample (resources/samples/hello-wasm,
 * as shipped, its module pushed into the server's site registry as the README does) is placed on the node
 * that runs WASM and runs there, and is not placeable on a node whose WASM runtime is off.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('runtime labels: the sample app places on a fresh node', () => {
  const serverHome = tempHome('outpost-labels-srv-');
  const wasmHome = tempHome('outpost-labels-wasm-');
  const plainHome = tempHome('outpost-labels-plain-');
  let server: ServerProcess;
  let api: Api;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    server = await startServer(serverHome.home);
    api = apiFor(server);
    // The sample as shipped; its module in the server's site registry under its origin's name.
    const sample = path.join(root, 'resources/samples/hello-wasm');
    expect(fs.readFileSync(path.join(sample, 'margo.yaml'), 'utf8')).toContain(
      'key: outpost.dev/runtime.wasm',
    );
    const pushed = await edgectl(
      ['oci', 'push', path.join(sample, 'hello.wasm'), 'site/registry.example/samples/hello-wasm:1.0.0'],
      { env: { EDGE_HOME: serverHome.home } },
    );
    expect(pushed.code, pushed.stderr).toBe(0);
    const added = await edgectl(['co', 'add', 'app', '--artifact', sample, '--home', serverHome.home]);
    expect(added.code, added.stderr).toBe(0);
    await api.sites.add({ id: 'plant-w' });
    await api.sites.add({ id: 'plant-p' });
  });

  afterAll(async () => {
    for (const a of agents) await a.stop();
    for (const h of [wasmHome, plainHome])
      for (const pid of wasmRunnerPids(h.home)) process.kill(pid, 'SIGKILL');
    await server?.stop();
    for (const h of [wasmHome, plainHome, serverHome]) h.cleanup();
  });

  /** Enrolls a node, starts its agent, and returns its capabilities once the LO has them. */
  const freshNode = async (home: string, node: string, site: string, runtimes: Record<string, unknown>) => {
    await enrollNode(api, home, node, site);
    writeAgentConfig(home, { runtimes });
    const agent = startAgentProcess(home);
    agents.push(agent);
    await agent.waitForLog((l) => l.msg === 'capabilities sent', `${node}'s capabilities`);
    return (await api.nodes.get({ name: node })).capabilities!;
  };

  it('reports one label per runtime that works, next to its own labels', async () => {
    const caps = await freshNode(wasmHome.home, 'edge-wasm', 'plant-w', {
      container: { enabled: false },
      compose: { enabled: false },
      helm: { enabled: false },
    });
    expect(caps.labels).toEqual({ 'outpost.test/agent': 'yes', 'outpost.dev/runtime.wasm': 'true' });
    const plain = await freshNode(plainHome.home, 'edge-plain', 'plant-p', {
      wasm: { enabled: false },
      container: { enabled: false },
      compose: { enabled: false },
      helm: { enabled: false },
    });
    expect(plain.labels).toEqual({ 'outpost.test/agent': 'yes' });
  });

  it('places the sample on the node that runs WASM, where it runs', async () => {
    const d = await api.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant-w' } });
    expect(d.nodes.map((n) => n.nodeName)).toEqual(['edge-wasm']);
    await waitFor(
      async () => {
        const v = await api.deployments.get({ id: d.id });
        return v.nodes[0]?.state === 'installed' ? v : undefined;
      },
      { what: 'the sample installed', timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(wasmRunnerPids(wasmHome.home)).toHaveLength(1);
  });

  it('does not place the sample on a node whose WASM runtime is off', async () => {
    const err = await api.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant-p' } }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code, err?.message).toBe('not-placeable');
    // Without WASM it offers no `custom` profiles at all, nor the label the sample's rule wants.
    expect(err!.message).toMatch(/none fits: 1 (lacks deployment type custom|matches no eligibility rule)/);
  });
});
