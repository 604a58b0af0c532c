import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { createMmiClient } from '../helpers/mmi-client.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';
import { createClient, createHttpTransport, isServerAnswer, contract } from '../../lib/contract/index.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Faults under a running server: kill -9 between a commit and its answer, a lost answer on the wire,
 * a full disk. A committed change is never reported as failed nor lost from the audit, a retry with
 * the same Idempotency-Key never makes a second deployment, and a full disk is said as such and
 * leaves nothing half-done.
 */
const apiOf = (s: ServerProcess, baseUrl = s.info.url) =>
  createClient(contract, createHttpTransport({ baseUrl, token: s.info.token, timeoutMs: 20_000 }));

type Node = { name: string; certPem: string; keyPem: string; anchorsPem: string[] };

/** The sample app, a site and one enrolled node with room for many deployments. */
async function prepare(server: ServerProcess): Promise<Node> {
  const api = apiOf(server);
  await api.apps.add({
    source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
  });
  await api.sites.add({ id: 'plant' });
  const t = await api.identity.createEnrollToken({ node: 'edge-a', siteId: 'plant', ttlMinutes: 10 });
  const e = await enrollOverMmi(server.info.mmiUrl!, t);
  const node = { name: 'edge-a', certPem: e.certPem, keyPem: e.keyPem, anchorsPem: e.anchorsPem };
  const c = createMmiClient({ baseUrl: server.info.mmiUrl!, ...node });
  const caps = capabilitiesFor('edge-a', { memory: '64Ti' });
  expect((await c.put('/api/v1/capabilities/edge-a', caps)).status).toBe(201);
  c.close();
  return node;
}

async function servedDeployments(server: ServerProcess, node: Node): Promise<string[]> {
  const c = createMmiClient({ baseUrl: server.info.mmiUrl!, ...node });
  try {
    const m = (await c.get('/api/v1/deployments')).json<{ deployments: { deploymentId: string }[] }>();
    return m.deployments.map((d) => d.deploymentId).sort();
  } finally {
    c.close();
  }
}

const NATS_OFF = 'nats:\n  enabled: false\n';

describe('kill -9 between a commit and its answer', () => {
  // Made when the tests run (not when the file is collected), so a filtered run leaves nothing.
  let home: ReturnType<typeof tempHome>;
  beforeAll(() => {
    home = tempHome('outpost-faults-kill-');
  });
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop('SIGKILL');
    home?.cleanup();
  });

  it('a retry with the same Idempotency-Key returns the committed deployment, with no duplicate', async () => {
    fs.writeFileSync(path.join(home.home, 'config.yaml'), NATS_OFF);
    server = await startServer(home.home);
    const node = await prepare(server);
    const dbFile = path.join(home.home, 'outpost.db');

    // Until a kill lands after a deployment's commit and before its answer (a fast machine may answer
    // first now and then: that deployment is simply acknowledged, and the next one is tried).
    let caught: { key: string; ref: string } | undefined;
    const acknowledged: string[] = [];
    for (let attempt = 0; !caught; attempt++) {
      expect(attempt, 'no kill landed between a commit and its answer').toBeLessThan(50);
      const key = `kill-test-${attempt}`;
      const api = apiOf(server);
      let answer: { id: string } | undefined;
      let failure: unknown;
      const call = api.deployments
        .create({ appId: 'hello-wasm', target: { siteId: 'plant' } }, { idempotencyKey: key })
        .then(
          (d) => void (answer = d),
          (e: unknown) => void (failure = e),
        );
      const db = new Database(dbFile, { readonly: true, fileMustExist: true });
      const row = db.prepare('SELECT ref FROM idempotency_keys WHERE key = ?');
      // The answer first (nothing to catch this time), or the commit without its answer yet.
      const seen = await waitFor(
        () => (answer || failure ? { answered: true } : (row.get(key) as { ref: string } | undefined)),
        { what: 'the commit of the deployment', timeoutMs: 60_000 },
      );
      db.close();
      if ('answered' in seen) {
        if (failure) throw failure;
        acknowledged.push(answer!.id);
        continue;
      }
      await server.stop('SIGKILL');
      await call;
      if (answer) {
        acknowledged.push(answer.id); // its answer was already on the wire
      } else {
        expect(isServerAnswer(failure), String(failure)).toBe(false);
        caught = { key, ref: seen.ref };
      }
      server = await startServer(home.home);
    }

    const api = apiOf(server!);
    // The audit has the committed call (its row was written with the change).
    const audit = await api.system.audit({ limit: 200, action: 'deployments.create' });
    expect(audit.entries.filter((e) => e.result === 'ok')).toHaveLength(acknowledged.length + 1);
    // The retry with the same key answers with the deployment that was made, and makes no other.
    const retried = await api.deployments.create(
      { appId: 'hello-wasm', target: { siteId: 'plant' } },
      { idempotencyKey: caught.key },
    );
    expect(retried.id).toBe(caught.ref);
    const listed = (await api.deployments.list({})).deployments.map((d) => d.id).sort();
    expect(listed).toEqual([...acknowledged, caught.ref].sort());
    // The same key for another request is refused.
    await expect(
      api.deployments.create(
        { appId: 'hello-wasm', target: { siteId: 'plant' }, set: { greeting: 'other' } },
        { idempotencyKey: caught.key },
      ),
    ).rejects.toMatchObject({ code: 'idempotency-key-reused' });
    // And the node is served it (the restart published what was committed).
    expect(await servedDeployments(server!, node)).toEqual(listed);
  }, 180_000);
});

describe('an answer lost on the wire', () => {
  // Made when the tests run (not when the file is collected), so a filtered run leaves nothing.
  let home: ReturnType<typeof tempHome>;
  beforeAll(() => {
    home = tempHome('outpost-faults-lost-');
  });
  let server: ServerProcess | undefined;
  let proxy: http.Server | undefined;
  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise((r) => proxy?.close(r) ?? r(undefined));
    await server?.stop();
    home?.cleanup();
  });

  it('edgectl sends the call again with the same key and makes one deployment', async () => {
    fs.writeFileSync(path.join(home.home, 'config.yaml'), NATS_OFF);
    server = await startServer(home.home);
    await prepare(server);
    const target = new URL(server.info.url);
    // Forwards every request; drops the answer of the first deployments.create after the server gave it.
    const keys: string[] = [];
    let dropped = false;
    proxy = http.createServer((req, res) => {
      const up = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upRes) => {
          if (req.url?.endsWith('/deployments.create')) {
            keys.push(String(req.headers['idempotency-key']));
            if (!dropped) {
              dropped = true;
              upRes.resume();
              upRes.on('end', () => res.socket?.destroy());
              return;
            }
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy!.listen(0, '127.0.0.1', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

    const r = await edgectl(['co', 'deploy', '--app', 'hello-wasm', '--site', 'plant', '-o', 'json'], {
      env: { EDGE_SERVER: proxyUrl, EDGE_TOKEN: server.info.token },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const shown = JSON.parse(r.stdout) as { id: string };
    expect(dropped).toBe(true);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^edgectl-/);
    expect(keys[1]).toBe(keys[0]);
    const listed = (await apiOf(server).deployments.list({})).deployments.map((d) => d.id);
    expect(listed).toEqual([shown.id]);
  }, 120_000);
});

describe('a data directory others can read', () => {
  // Made when the tests run (not when the file is collected), so a filtered run leaves nothing.
  let parent: ReturnType<typeof tempHome>;
  beforeAll(() => {
    parent = tempHome('outpost-faults-modes-');
  });
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop('SIGKILL'); // when an assertion failed with the server up
    parent?.cleanup();
  });
  const mode = (f: string) => (fs.statSync(f).mode & 0o777).toString(8);

  it('is created 0700 with the database 0600, and an existing one is tightened', async () => {
    const home = path.join(parent.home, 'fresh');
    server = await startServer(home);
    expect(mode(home)).toBe('700');
    expect(mode(path.join(home, 'outpost.db'))).toBe('600');
    await server.stop();
    // As an older version left it: everything readable by everyone.
    fs.chmodSync(home, 0o755);
    for (const f of fs.readdirSync(home))
      if (f.startsWith('outpost.db')) fs.chmodSync(path.join(home, f), 0o644);
    server = await startServer(home);
    expect(mode(home)).toBe('700');
    for (const f of fs.readdirSync(home).filter((x) => x.startsWith('outpost.db')))
      expect(mode(path.join(home, f)), f).toBe('600');
    expect(server.stderr()).toContain('the data directory was open to other users; now 0700');
    await server.stop();
  });
});

/** Mounts a tmpfs of `bytes` on `dir`; false where this machine does not let the test mount one. */
function mountTmpfs(dir: string, bytes: number): boolean {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** Fills the file system holding `dir` to the last byte; returns the filler to remove. */
function fill(dir: string): string {
  const file = path.join(dir, 'filler');
  const fd = fs.openSync(file, 'w');
  try {
    for (const chunk of [1 << 20, 1 << 12, 1]) {
      const buf = Buffer.alloc(chunk);
      try {
        for (;;) fs.writeSync(fd, buf);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return file;
}

const canMount = (() => {
  const probe = fs.mkdtempSync('/tmp/outpost-mount-probe-');
  const ok = mountTmpfs(probe, 1 << 20);
  if (ok) execFileSync('umount', [probe]);
  fs.rmSync(probe, { recursive: true, force: true });
  return ok;
})();

// A full disk needs a file system the test can fill: a tmpfs, which only root (or a user namespace
// with mount rights) can mount. CI runs as root; elsewhere these tests say why they are skipped.
describe.skipIf(!canMount)('a full disk (tmpfs; needs root to mount)', () => {
  let home: ReturnType<typeof tempHome> | undefined;
  const mounts: string[] = [];
  let server: ServerProcess | undefined;
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
    for (const m of mounts.splice(0)) execFileSync('umount', ['-l', m]);
    home?.cleanup();
  });

  it('refuses a deployment with 507 saying the disk is full, and changes nothing', async () => {
    home = tempHome('outpost-faults-full-');
    const dir = path.join(home.home, 'data');
    expect(mountTmpfs(dir, 64 << 20)).toBe(true);
    mounts.push(dir);
    fs.writeFileSync(path.join(dir, 'config.yaml'), NATS_OFF);
    server = await startServer(dir);
    const node = await prepare(server);
    const api = apiOf(server);
    const first = await api.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant' } });
    const repo = path.join(dir, 'git', 'deployments', 'default');
    const headBefore = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo }).toString().trim();

    const filler = fill(dir);
    const err = await api.deployments
      .create({ appId: 'hello-wasm', target: { siteId: 'plant' } })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'insufficient-storage', status: 507 });
    expect((err as Error).message).toMatch(/disk is full/);
    // The CLI says so too, in one line.
    const cli = await edgectl(['co', 'deploy', '--app', 'hello-wasm', '--site', 'plant', '--home', dir]);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split('\n')).toHaveLength(1);
    expect(cli.stderr).toMatch(/disk is full/);

    fs.rmSync(filler);
    // Nothing of the refused deployments exists: not in the database, not in git, not on the node.
    expect((await api.deployments.list({})).deployments.map((d) => d.id)).toEqual([first.id]);
    expect(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo }).toString().trim()).toBe(headBefore);
    execFileSync('git', ['fsck', '--strict'], { cwd: repo, stdio: 'pipe' });
    const leftovers = (fs.readdirSync(repo, { recursive: true }) as string[]).filter((f) =>
      f.includes('.tmp'),
    );
    expect(leftovers).toEqual([]);
    expect(await servedDeployments(server, node)).toEqual([first.id]);
    // With room again, the same request goes through.
    const again = await api.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant' } });
    expect(await servedDeployments(server, node)).toEqual([first.id, again.id].sort());
  }, 180_000);

  it('answers a committed deployment as made when only its publication finds the disk full, and publishes it later', async () => {
    home = tempHome('outpost-faults-gitfull-');
    fs.writeFileSync(path.join(home.home, 'config.yaml'), NATS_OFF);
    // The repositories on their own small file system; the database beside it has room.
    const gitFs = path.join(home.home, 'git');
    expect(mountTmpfs(gitFs, 16 << 20)).toBe(true);
    mounts.push(gitFs);
    server = await startServer(home.home);
    const node = await prepare(server);
    const api = apiOf(server);

    const filler = fill(gitFs);
    const made = await api.deployments.create({ appId: 'hello-wasm', target: { siteId: 'plant' } });
    // Committed and audited as done, though not yet in git nor served.
    const audit = await api.system.audit({ limit: 10, action: 'deployments.create' });
    expect(audit.entries.map((e) => e.result)).toEqual(['ok']);
    expect((await api.deployments.list({})).deployments.map((d) => d.id)).toEqual([made.id]);
    expect(await servedDeployments(server, node)).toEqual([]);

    fs.rmSync(filler);
    // Published from the database once there is room, without anyone asking again.
    await waitFor(async () => (await servedDeployments(server!, node)).includes(made.id), {
      what: 'the node to be served the deployment',
      timeoutMs: 60_000,
    }).catch((e) => {
      console.log(server!.stderr());
      throw e;
    });
    const repo = path.join(gitFs, 'deployments', 'default');
    execFileSync('git', ['fsck', '--strict'], { cwd: repo, stdio: 'pipe' });
    const files = execFileSync('git', ['ls-tree', '-r', '--name-only', 'HEAD'], { cwd: repo }).toString();
    expect(files.trim()).toBe(`sites/plant/nodes/edge-a/${made.id}.yaml`);
  }, 180_000);
});
