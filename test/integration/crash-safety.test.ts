import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import crypto from 'node:crypto';
import path from 'node:path';
import { startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient } from '../helpers/mmi-client.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { createClient, createHttpTransport, contract, isServerAnswer } from '../../lib/contract/index.js';

const sha256 = (b: Buffer) => 'sha256:' + crypto.createHash('sha256').update(b).digest('hex');

/**
 * kill -9 of the server while operators deploy: after a restart, every deployment that was acknowledged
 * is there, the deployments repository is sound and holds exactly what the database says, and every node
 * is served exactly those YAMLs, with a manifestVersion that never went back. Nothing half-written is left.
 */
describe('SIGKILL during deploys', () => {
  const home = tempHome('outpost-crash-');
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop('SIGKILL');
    home.cleanup();
  });

  const apiOf = (s: ServerProcess) =>
    createClient(
      contract,
      createHttpTransport({ baseUrl: s.info.url, token: s.info.token, timeoutMs: 10_000 }),
    );

  it('loses nothing acknowledged and leaves no half-written state', async () => {
    server = await startServer(home.home);
    let api = apiOf(server);
    await api.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    await api.sites.add({ id: 'plant' });
    const nodes: { name: string; certPem: string; keyPem: string; anchorsPem: string[] }[] = [];
    for (const name of ['edge-a', 'edge-b']) {
      const t = await api.identity.createEnrollToken({ node: name, siteId: 'plant', ttlMinutes: 10 });
      const e = await enrollOverMmi(server.info.mmiUrl!, t);
      const n = { name, certPem: e.certPem, keyPem: e.keyPem, anchorsPem: e.anchorsPem };
      const c = createMmiClient({ baseUrl: server.info.mmiUrl!, ...n });
      // Room for far more deployments than any machine makes before the kill.
      const caps = capabilitiesFor(name, { memory: '64Ti' });
      expect((await c.put(`/api/v1/capabilities/${name}`, caps)).status).toBe(201);
      c.close();
      nodes.push(n);
    }

    // Deploy one after another while a node polls; kill -9 the server in the middle of a deploy: when the
    // database holds a deployment whose answer has not come back yet (committed, still being published).
    // The loop runs until that kill has landed, however fast or slow the machine is; the nodes are sized
    // so that capacity never runs out first.
    const acknowledged: string[] = [];
    let stop = false;
    let killed = false;
    let seenVersion = 0; // the highest manifestVersion a node was served before the crash
    const poller = createMmiClient({ baseUrl: server.info.mmiUrl!, ...nodes[0]! });
    const polling = (async () => {
      while (!stop) {
        try {
          const r = await poller.get('/api/v1/deployments');
          if (r.status === 200)
            seenVersion = Math.max(seenVersion, r.json<{ manifestVersion: number }>().manifestVersion);
        } catch {
          return; // the server is gone
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let refused: unknown;
    const deploying = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          const d = await api.deployments.create({
            appId: 'hello-wasm',
            target: { siteId: 'plant' },
            set: { greeting: `g${i}` },
          });
          acknowledged.push(d.id);
        } catch (err) {
          // A dead server is the end of the loop; a server that answered with a refusal is a failed test.
          if (isServerAnswer(err) || !killed) refused = err;
          return;
        }
      }
    })();
    const db = new Database(path.join(home.home, 'outpost.db'), { readonly: true, fileMustExist: true });
    const committed = db.prepare('SELECT count(*) AS n FROM deployments');
    const deadline = Date.now() + 90_000;
    while (!killed && refused === undefined && Date.now() < deadline) {
      const inFlight = (committed.get() as { n: number }).n > acknowledged.length;
      if (inFlight && acknowledged.length >= 2 && seenVersion > 1) {
        killed = true;
        await server.stop('SIGKILL');
      } else await new Promise((r) => setTimeout(r, 2));
    }
    db.close();
    stop = true;
    if (!killed) await server.stop('SIGKILL');
    await Promise.all([deploying, polling]);
    poller.close();
    if (refused !== undefined) throw refused;
    expect(killed, 'no deploy was caught between its commit and its answer').toBe(true);
    expect(acknowledged.length).toBeGreaterThanOrEqual(2);
    expect(seenVersion).toBeGreaterThan(1);

    server = await startServer(home.home);
    api = apiOf(server);
    const listed = (await api.deployments.list({})).deployments.map((d) => d.id);
    for (const id of acknowledged) expect(listed).toContain(id);
    // The one in flight when the server died was committed (that is when the kill came): it exists,
    // complete, beside the acknowledged ones (or its answer was already on the wire and it was
    // acknowledged after all), and nothing else does.
    expect(listed.length - acknowledged.length).toBeLessThanOrEqual(1);

    // The repository is sound and is exactly the database's desired state.
    const repo = path.join(home.home, 'git', 'deployments', 'default');
    execFileSync('git', ['fsck', '--strict'], { cwd: repo, stdio: 'pipe' });
    const files = execFileSync('git', ['ls-tree', '-r', '--name-only', 'HEAD'], { cwd: repo })
      .toString()
      .trim()
      .split('\n')
      .sort();
    const expected = listed
      .flatMap((id) => nodes.map((n) => `sites/plant/nodes/${n.name}/${id}.yaml`))
      .sort();
    expect(files).toEqual(expected);

    // Every node is served exactly those deployments, byte for byte as in git, in a bundle that matches its
    // digest, and manifestVersion did not go back.
    const versions: number[] = [];
    for (const n of nodes) {
      const c = createMmiClient({ baseUrl: server.info.mmiUrl!, ...n });
      const m = (await c.get('/api/v1/deployments')).json<{
        manifestVersion: number;
        bundle: { digest: string; url: string } | null;
        deployments: { deploymentId: string; url: string }[];
      }>();
      versions.push(m.manifestVersion);
      expect(m.deployments.map((d) => d.deploymentId).sort()).toEqual([...listed].sort());
      const bundle = await c.get(m.bundle!.url);
      expect(bundle.status).toBe(200);
      expect(sha256(bundle.body)).toBe(m.bundle!.digest);
      for (const d of m.deployments.slice(0, 3)) {
        const yaml = (await c.get(d.url)).body;
        const inGit = execFileSync(
          'git',
          ['show', `HEAD:sites/plant/nodes/${n.name}/${d.deploymentId}.yaml`],
          { cwd: repo },
        );
        expect(yaml.equals(inGit)).toBe(true);
      }
      c.close();
    }
    expect(versions[0]).toBeGreaterThanOrEqual(seenVersion);

    // The next change after the crash goes on counting from there.
    await api.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant' } });
    const c = createMmiClient({ baseUrl: server.info.mmiUrl!, ...nodes[0]! });
    const next = (await c.get('/api/v1/deployments')).json<{ manifestVersion: number }>();
    c.close();
    expect(next.manifestVersion).toBeGreaterThan(versions[0]!);
  }, 120_000);
});
