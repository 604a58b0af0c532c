import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient, type MmiTestClient } from '../helpers/mmi-client.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';
import { enrollOverMmi } from '../helpers/enroll.js';

/**
 * The operator's CLI path of a deployment: place (why not), deploy --wait (live progress; a failing node
 * named with its reason and a non-zero exit), show, update, remove --wait. The nodes are driven over the
 * real MMI (mutual TLS): each reports what a real agent would report for the manifest it is served.
 */
interface FakeNode {
  name: string;
  mmi: MmiTestClient;
  /** What this node reports for each deployment it is told to run. */
  outcome: 'installed' | 'failed';
}

describe('edgectl co place / deploy --wait / show / update / remove', () => {
  const home = tempHome('outpost-deploycli-');
  let server: ServerProcess;
  const nodes: FakeNode[] = [];
  let stopNodes = false;
  let nodeLoop: Promise<void> | undefined;
  const run = (...args: string[]) => edgectl([...args, '--home', home.home], { timeoutMs: 60_000 });

  beforeAll(async () => {
    server = await startServer(home.home);
    fs.writeFileSync(path.join(home.home, 'margo.yaml'), WASM_APP('1.0.0'));
    expect((await run('co', 'add', 'app', '--artifact', path.join(home.home, 'margo.yaml'))).code).toBe(0);
    fs.writeFileSync(path.join(home.home, 'margo.yaml'), WASM_APP('1.1.0'));
    expect((await run('co', 'add', 'app', '--artifact', path.join(home.home, 'margo.yaml'))).code).toBe(0);
    expect((await run('co', 'add', 'site', 'plant')).code).toBe(0);
    expect((await run('co', 'add', 'node', 'spare', '--site', 'plant')).code).toBe(0); // never enrolls
    for (const name of ['good-1', 'bad-1']) {
      const t = JSON.parse(
        (await run('co', 'enroll-token', 'create', '--node', name, '--site', 'plant', '-o', 'json')).stdout,
      ) as {
        token: string;
        caFingerprint: string;
      };
      const e = await enrollOverMmi(server.info.mmiUrl!, t);
      const mmi = createMmiClient({
        baseUrl: server.info.mmiUrl!,
        certPem: e.certPem,
        keyPem: e.keyPem,
        anchorsPem: e.anchorsPem,
        keepAlive: true,
      });
      expect((await mmi.put(`/api/v1/capabilities/${name}`, capabilitiesFor(name))).status).toBe(201);
      nodes.push({ name, mmi, outcome: name.startsWith('good') ? 'installed' : 'failed' });
    }
    // The nodes poll and report like agents: installing, then their outcome, for every YAML they are served.
    const done = new Map<string, string>();
    nodeLoop = (async () => {
      while (!stopNodes) {
        for (const n of nodes) {
          const m = (await n.mmi.get('/api/v1/deployments')).json<{
            manifestVersion: number;
            deployments: { deploymentId: string; digest: string }[];
          }>();
          for (const d of m.deployments) {
            const key = `${n.name}/${d.digest}`;
            if (done.has(key)) continue;
            for (const state of ['installing', n.outcome]) {
              await n.mmi.post(`/api/v1/deployments/${d.deploymentId}/status`, {
                deploymentId: d.deploymentId,
                adoptedManifestVersion: m.manifestVersion,
                status: {
                  state,
                  ...(state === 'failed'
                    ? { error: { code: 'E1', source: 'hello', message: 'module trapped at start' } }
                    : {}),
                },
                components: [{ name: 'hello', state }],
              });
            }
            done.set(key, d.deploymentId);
          }
          for (const [key, deploymentId] of done) {
            const [nodeName, digest] = key.split('/');
            if (nodeName !== n.name || m.deployments.some((d) => d.digest === digest)) continue;
            done.delete(key);
            // Gone from the manifest: removed, unless a newer revision of it is there (an update).
            if (m.deployments.some((d) => d.deploymentId === deploymentId)) continue;
            for (const state of ['removing', 'removed']) {
              await n.mmi.post(`/api/v1/deployments/${deploymentId}/status`, {
                deploymentId,
                adoptedManifestVersion: m.manifestVersion,
                status: { state },
                components: [{ name: 'hello', state }],
              });
            }
          }
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
  }, 120_000);

  afterAll(async () => {
    stopNodes = true;
    await nodeLoop;
    for (const n of nodes) n.mmi.close();
    await server?.stop();
    home.cleanup();
  });

  it('place lists every candidate with the reason it is or is not placed', async () => {
    const r = await run('co', 'place', '--app', 'hello-wasm', '--site', 'plant');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hello-wasm 1\.1\.0, profile wasm \(custom\): placed on 2 of 3 nodes/m);
    expect(r.stdout).toMatch(/^spare\s+plant\s+no\s+-\s+.*not enrolled/m);
    const j = JSON.parse(
      (await run('co', 'place', '--app', 'hello-wasm', '--site', 'plant', '-o', 'json')).stdout,
    ) as {
      placement: {
        placed: string[];
        candidates: { name: string; placed: boolean; reasons: { code: string }[] }[];
      };
    };
    expect(j.placement.placed.sort()).toEqual(['default.bad-1', 'default.good-1']);
    expect(j.placement.candidates.find((c) => c.name === 'spare')?.reasons.map((x) => x.code)).toContain(
      'not-enrolled',
    );
  });

  it('deploy --wait follows every node until installed', async () => {
    const r = await run(
      'co',
      'deploy',
      '--app',
      'hello-wasm',
      '--version',
      '1.0.0',
      '--node',
      'good-1',
      '--set',
      'greeting=hey',
      '--wait',
      '--timeout',
      '60',
    );
    expect(r.stderr).toMatch(/deployment [0-9a-f-]{36}: hello-wasm 1\.0\.0 to 1 node/);
    expect(r.stderr).toContain('1/1 installed');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^good-1\s+plant\s+1\.0\.0\s+installed\s+\d+s ago/m);
  });

  it('deploy --wait exits non-zero naming the node that failed and why', async () => {
    const r = await run(
      'co',
      'deploy',
      '--app',
      'hello-wasm',
      '--site',
      'plant',
      '--wait',
      '--timeout',
      '60',
    );
    expect(r.code).toBe(6);
    expect(r.stderr.trim().split('\n').pop()).toBe('edgectl: node bad-1 failed: module trapped at start');
  });

  it('shows, updates and removes with live progress', async () => {
    const list = JSON.parse((await run('co', 'list', 'deployments', '-o', 'json')).stdout) as {
      deployments: { id: string; nodeCount: number; appId: string }[];
    };
    const one = list.deployments.find((d) => d.nodeCount === 1)!;
    const show = await run('co', 'show', 'deployment', one.id);
    expect(show.stdout).toMatch(/^nodes:\s+1: 1 installed/m);
    const upd = await run(
      'co',
      'update',
      'deployment',
      one.id,
      '--version',
      '1.1.0',
      '--set',
      'greeting=hello again',
      '--wait',
      '--timeout',
      '60',
    );
    expect(upd.code).toBe(0);
    expect(upd.stdout).toMatch(/^good-1\s+plant\s+1\.1\.0\s+installed/m);
    const bad = await run(
      'co',
      'update',
      'deployment',
      one.id,
      '--set',
      'greeting=this value is far too long for the schema',
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toContain('parameters.greeting');
    const rm = await run('co', 'remove', 'deployment', one.id, '--wait', '--timeout', '60');
    expect(rm.code).toBe(0);
    expect(rm.stdout).toMatch(/^state:\s+removed$/m);
  });
});
