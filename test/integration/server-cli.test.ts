import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { lockOwner } from '../../lib/base/index.js';
import { waitFor } from '../helpers/wait.js';

describe('edgectl server + edgectl co status', () => {
  const { home, cleanup } = tempHome();
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer(home);
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    cleanup();
  });

  it('publishes server.json with url, token and pid, readable only by the owner', () => {
    const file = path.join(home, 'run', 'server.json');
    const st = fs.statSync(file);
    expect(st.mode & 0o777).toBe(0o600);
    expect(server.info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.info.token).toMatch(/^opt_/);
    expect(server.info.pid).toBe(server.child.pid);
  });

  it('prints the status as JSON', async () => {
    const r = await edgectl(['co', 'status', '-o', 'json', '--home', home]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(s).toMatchObject({
      product: 'Outpost',
      role: 'all',
      roles: ['co', 'lo'],
      home,
      tenant: 'default',
      counts: { apps: 0, nodes: 0, deployments: 0 },
    });
    expect((s.database as { schemaVersion: string }).schemaVersion).toMatch(/^\d{4}_/);
    expect(s.version).toBe(JSON.parse(fs.readFileSync('package.json', 'utf8')).version);
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('prints a table and YAML too', async () => {
    const t = await edgectl(['co', 'status', '--home', home]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^server: +http:\/\/127\.0\.0\.1:\d+$/m);
    expect(t.stdout).toMatch(/^role: +all \(co, lo\)$/m);
    // A fresh all-in-one server: its LO serves its own repository, nothing adopted yet, nothing refused.
    expect(t.stdout).toMatch(
      /^desired state: +(nothing adopted yet|commit [0-9a-f]{12} \(adopted .* ago\))$/m,
    );
    const y = await edgectl(['co', 'status', '-o', 'yaml', '--home', home]);
    expect(y.stdout).toMatch(/^product: Outpost$/m);
  });

  it('finds the server through --server and --token too', async () => {
    const r = await edgectl([
      'co',
      'status',
      '-o',
      'json',
      '--server',
      server.info.url,
      '--token',
      server.info.token,
    ]);
    expect(r.code).toBe(0);
    const bad = await edgectl(['co', 'status', '--server', server.info.url, '--token', 'wrong']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toEqual(['edgectl: the API token is not valid']);
  });

  it('refuses a second server on the same home with a clear message', async () => {
    const r = await edgectl(['server', '--home', home, '--port', '0']);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe(
      `edgectl: another Outpost server (pid ${server.info.pid}) is already using ${home}; stop it first or choose another --home`,
    );
  });

  it('rejects a bad output format in one line', async () => {
    const r = await edgectl(['co', 'status', '-o', 'xml', '--home', home]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('edgectl: unknown output format "xml" (use table, json, yaml)');
  });
});

describe('the server start from the code cache (ADR 0560)', () => {
  it('writes V8 code cache once started, and the next start uses it without writing it again', async () => {
    const { home, cleanup } = tempHome();
    const cacheDir = path.join(home, 'code-cache');
    const caches = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);
    try {
      const first = await startServer(home, [], { OUTPOST_CODE_CACHE_DIR: cacheDir });
      await waitFor(() => caches().some((e) => /^server\.cjs-.*\.v8cache$/.test(e)), {
        what: 'the code cache',
        timeoutMs: 60_000,
      });
      await first.stop();
      const [cache] = caches();
      expect(caches()).toEqual([cache]);
      const written = fs.statSync(path.join(cacheDir, cache!));
      expect(written.size).toBeGreaterThan(100_000);

      const second = await startServer(home, [], { OUTPOST_CODE_CACHE_DIR: cacheDir });
      const r = await edgectl(['co', 'status', '-o', 'json', '--home', home]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ product: 'Outpost', role: 'all' });
      await second.stop();
      // V8 took the cache (a refused one would have been written again once the server started).
      expect(caches()).toEqual([cache]);
      expect(fs.statSync(path.join(cacheDir, cache!)).mtimeMs).toBe(written.mtimeMs);
    } finally {
      cleanup();
    }
  });
});

describe('server lifecycle', () => {
  it('SIGTERM stops the server cleanly and removes server.json', async () => {
    const { home, cleanup } = tempHome();
    try {
      const server = await startServer(home);
      const code = await server.stop('SIGTERM');
      expect(code).toBe(0);
      expect(fs.existsSync(path.join(home, 'run', 'server.json'))).toBe(false);
      expect(lockOwner(path.join(home, 'run', 'server.lock'))).toBeUndefined();
      // the database was closed cleanly: the WAL was checkpointed away
      expect(fs.existsSync(path.join(home, 'outpost.db'))).toBe(true);
      const r = await edgectl(['co', 'status', '--home', home]);
      expect(r.code).toBe(3);
      expect(r.stderr).toBe(
        `edgectl: no Outpost server is running for ${home} (start one with "edgectl server"; for a server started with --home DIR, pass the same --home DIR or set EDGE_HOME=DIR; or pass --server URL --token T)\n`,
      );
      // a new server can take the home again
      const again = await startServer(home);
      expect((await edgectl(['co', 'status', '--home', home])).code).toBe(0);
      await again.stop();
    } finally {
      cleanup();
    }
  });

  it('takes over the lock of a server that was killed', async () => {
    const { home, cleanup } = tempHome();
    try {
      const first = await startServer(home);
      await first.stop('SIGKILL');
      const r = await edgectl(['co', 'status', '--home', home]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('is not running');
      const second = await startServer(home);
      expect((await edgectl(['co', 'status', '--home', home])).code).toBe(0);
      await second.stop();
    } finally {
      cleanup();
    }
  });

  it('lets in-flight requests finish on SIGTERM', async () => {
    const { home, cleanup } = tempHome();
    try {
      const server = await startServer(home);
      const body = JSON.stringify({ limit: 10 });
      // Send the headers and half of the body, then stop the server, then send the rest.
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          `${server.info.url}/api/v1/rpc/system.audit`,
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${server.info.token}`,
              'content-type': 'application/json',
              'content-length': body.length,
            },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.write(body.slice(0, 5));
        setTimeout(() => {
          void server.stop('SIGTERM');
          setTimeout(() => req.end(body.slice(5)), 500);
        }, 200);
      });
      const res = await response;
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toHaveProperty('entries');
      expect(await server.stop()).toBe(0);
    } finally {
      cleanup();
    }
  });

  it('reports a broken config file in one line and exits non-zero', async () => {
    const { home, cleanup } = tempHome();
    try {
      fs.writeFileSync(path.join(home, 'config.yaml'), 'server:\n  port: "eighty"\n');
      const r = await edgectl(['server', '--home', home]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`${path.join(home, 'config.yaml')}: server.port:`);
    } finally {
      cleanup();
    }
  });
});
