import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { createClient, createHttpTransport, contract } from '../../lib/contract/index.js';
import { CONTROL_CHARACTERS } from '../../lib/model/index.js';
import type { FastifyInstance } from 'fastify';
import net, { type AddressInfo } from 'node:net';
import { createConsoleHttp, registeredApiRoutes } from '../../core/server/console-http.js';
import { startTestCore } from '../helpers/core.js';
import type { Core } from '../../core/create-core.js';
import { WASM_APP, capabilitiesFor } from '../fixtures/margo.js';
import { enrollOverMmi } from '../helpers/enroll.js';
import { startGitServer } from '../helpers/git-server.js';
import type { OutpostError } from '../../lib/errors/index.js';
import { createMmiClient } from '../helpers/mmi-client.js';
import { createKeyAndCsr } from '../../lib/x509/index.js';

/**
 * Bad input against the console API: what a probe of a running server sends. Each answer is a clear
 * problem+json error, never a hang, a 500 or a changed state.
 */
const TOKEN = 'opt_bad-input-token';

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Every spelling of a path that a router might decode to the same route. */
function spellings(p: string): string[] {
  const out = new Set<string>([p]);
  const enc = (c: string) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0');
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (!/[A-Za-z0-9.]/.test(c)) continue;
    out.add(p.slice(0, i) + enc(c) + p.slice(i + 1));
    out.add(p.slice(0, i) + enc(c).toUpperCase() + p.slice(i + 1));
  }
  out.add(p.replace(/[A-Za-z0-9.]/g, enc)); // every character encoded
  out.add(p.replace(/[A-Za-z0-9.]/g, (c) => '%25' + enc(c).slice(1))); // encoded twice
  out.add(p.toUpperCase());
  out.add('/' + p);
  out.add(p.replace('/api/', '/api//'));
  out.add(p.replace('/api/', '/./api/'));
  out.add(p.replace('/api/', '/x/../api/'));
  out.add(p + '/');
  out.add(p + '?token=');
  out.add(p + '%00');
  return [...out];
}

describe('console API: bad input', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let app: FastifyInstance;
  let base: string;
  let core: Core;

  beforeAll(async () => {
    t = await startTestCore({ bootstrapToken: TOKEN });
    core = t.core;
    app = await createConsoleHttp({ core, maxBodyBytes: 32 * 1024 * 1024 });
    const api = core.client();
    await api.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });
    await api.sites.add({ id: 'plant' });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
    await t.stop();
  });

  /** One request with a deadline: a server that never answers fails the test instead of hanging it. */
  async function send(method: string, p: string, token?: string) {
    const res = await fetch(base + p, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      },
      ...(method === 'POST' ? { body: '{}' } : {}),
      signal: AbortSignal.timeout(20_000),
    });
    const type = res.headers.get('content-type') ?? '';
    // The event stream does not end: read nothing of it.
    const body = type.includes('event-stream') ? '' : await res.text();
    if (type.includes('event-stream')) await res.body?.cancel();
    return { status: res.status, type, body };
  }

  it('authenticates every registered /api route, however its path is spelled', async () => {
    const routes = registeredApiRoutes(app);
    // The routes the console serves: the walk below must cover them (and whatever is added later).
    expect(routes.map((r) => `${r.method} ${r.url}`)).toEqual(
      expect.arrayContaining(['GET /api/v1/events', 'POST /api/v1/rpc/:channel', 'GET /api/v1/rpc/:channel']),
    );
    let routed = 0;
    for (const r of routes) {
      const concrete = r.url.replace(':channel', 'system.status');
      for (const p of spellings(concrete)) {
        const anon = await send(r.method, p);
        const where = `${r.method} ${p}`;
        if (r.public) {
          expect([200, 400, 404], where).toContain(anon.status);
          continue;
        }
        expect([401, 404, 400], where).toContain(anon.status);
        if (r.method !== 'HEAD') expect(anon.type, where).toContain('application/problem+json');
        // A spelling the router takes for this route must be refused for want of a token.
        const withToken = await send(r.method, p, TOKEN);
        if (withToken.status !== 404 && withToken.status !== 400) {
          routed++;
          expect(anon.status, where).toBe(401);
        }
      }
    }
    expect(routed).toBeGreaterThan(routes.length); // encoded spellings did reach routes
  }, 120_000);

  it('answers 401 at once to many encoded event-stream requests, and stays healthy', async () => {
    const answers = await Promise.all(Array.from({ length: 300 }, () => send('GET', '/%61pi/v1/events')));
    for (const a of answers) expect(a.status).toBe(401);
    expect((await send('GET', '/api/v1/health')).status).toBe(200);
  });

  const rpc = async (channel: string, body: string) => {
    const res = await fetch(`${base}/api/v1/rpc/${channel}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    return { status: res.status, text, problem: JSON.parse(text) as Record<string, unknown> };
  };
  const auditOf = (action: string) => core.audit.list('default', { limit: 1, action })[0];

  it('refuses a value nested 3,000 deep with 400, and audits the refusal', async () => {
    for (const depth of [3_000, 100_000]) {
      const deep = '{"a":'.repeat(depth) + '"x"' + '}'.repeat(depth);
      const body = `{"appId":"hello-wasm","target":{"siteId":"plant"},"parameters":{"greeting":${deep}}}`;
      const before = auditOf('deployments.create')?.seq ?? 0;
      const r = await rpc('deployments.create', body);
      expect(r.status, r.text.slice(0, 300)).toBe(400);
      expect(r.problem.code).toBe('invalid-input');
      expect(r.problem.detail).toMatch(/nested deeper than \d+ levels/);
      const row = auditOf('deployments.create')!;
      expect(row.seq).toBeGreaterThan(before);
      expect(row).toMatchObject({ result: 'error', errorCode: 'invalid-input' });
      // The audit keeps why, not the value.
      expect(JSON.stringify(row.input).length).toBeLessThan(500);
    }
    // Deep input in a query is refused the same way (nothing walks it).
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const q = await rpc('system.audit', `{"limit":${deep}}`);
    expect(q.status).toBe(400);
    expect((await core.client().deployments.list({})).deployments).toEqual([]);
  });

  it('answers 800,000 unknown parameters with a short error and no change', async () => {
    const names = Array.from({ length: 800_000 }, (_, i) => `"p${i}":"v"`).join(',');
    const r = await rpc(
      'deployments.create',
      `{"appId":"hello-wasm","target":{"siteId":"plant"},"parameters":{${names}}}`,
    );
    expect(r.status).toBe(400);
    expect(r.text.length).toBeLessThan(16 * 1024);
    expect((r.problem.errors as unknown[]).length).toBeLessThanOrEqual(101);
    // Refused from the text of the body, before parsing it, and audited with why.
    expect(auditOf('deployments.create')).toMatchObject({ result: 'error', errorCode: 'invalid-input' });
    expect(JSON.stringify(auditOf('deployments.create')!.input)).toMatch(/more than 10000 entries/);
    // Unknown top-level fields are counted, not listed one by one.
    const top = await rpc('sites.add', `{"id":"x",${names}}`);
    expect(top.status).toBe(400);
    expect(top.text.length).toBeLessThan(16 * 1024);
    // Below the entry limit, the problems themselves are capped.
    const some = Array.from({ length: 5_000 }, (_, i) => `"p${i}":"v"`).join(',');
    const r2 = await rpc(
      'deployments.create',
      `{"appId":"hello-wasm","target":{"siteId":"plant"},"parameters":{${some}}}`,
    );
    expect(r2.status).toBe(400);
    expect(r2.text.length).toBeLessThan(16 * 1024);
    expect(JSON.stringify(r2.problem.errors)).toMatch(/and 4990 more unknown parameters/);
    const s2 = await rpc('sites.add', `{"id":"x",${some}}`);
    expect(s2.status).toBe(400);
    expect(s2.text.length).toBeLessThan(16 * 1024);
    expect((await core.client().deployments.list({})).deployments).toEqual([]);
    expect((await core.client().sites.list({})).sites.map((x) => x.id)).toEqual(['plant']);
  }, 120_000);
});

describe('a running server: bad input through edgectl and the MMI', () => {
  // Made when the tests run (not when the file is collected), so a filtered run leaves nothing.
  let home: ReturnType<typeof tempHome>;
  beforeAll(() => {
    home = tempHome('outpost-bad-input-');
  });
  let server: ServerProcess;
  let api: ReturnType<typeof createClient<typeof contract>>;
  beforeAll(async () => {
    fs.writeFileSync(path.join(home.home, 'config.yaml'), 'nats:\n  enabled: false\n');
    server = await startServer(home.home);
    api = createClient(contract, createHttpTransport({ baseUrl: server.info.url, token: server.info.token }));
  });
  afterAll(async () => {
    await server?.stop();
    home?.cleanup();
  });
  const cli = (...args: string[]) => edgectl([...args, '--home', home.home]);

  it('keeps uploaded content out of the audit, and does not follow a symbolic link unasked', async () => {
    const secret = path.join(home.home, 'secret.txt');
    const text = 'root:x:0:0:the secret text of a file that must never reach the audit\n'.repeat(40);
    fs.writeFileSync(secret, text);
    const link = path.join(home.home, 'link.yaml');
    fs.symlinkSync(secret, link);

    const refused = await cli('co', 'add', 'app', '--artifact', link);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n')).toEqual([
      `edgectl: ${link} is a symbolic link to ${secret}; it is not followed (give ${secret} itself, or pass --follow-symlinks to upload it)`,
    ]);
    expect((await api.system.audit({ limit: 10, action: 'apps.add' })).entries).toEqual([]);

    // Followed when asked, and said so; the server refuses the text, and the audit keeps no byte of it.
    const followed = await cli('co', 'add', 'app', '--artifact', link, '--follow-symlinks');
    expect(followed.stderr).toContain(`edgectl: following the symbolic link ${link} -> ${secret}`);
    expect(followed.code).not.toBe(0);
    const [row] = (await api.system.audit({ limit: 1, action: 'apps.add' })).entries;
    expect(row).toMatchObject({ result: 'error' });
    const kept = JSON.stringify(row);
    expect(kept).not.toContain('root:x');
    expect(kept).not.toContain('secret text');
    expect(row!.input).toMatchObject({
      source: { kind: 'upload', upload: { fileName: 'link.yaml', bytes: text.length } },
    });
    expect(JSON.stringify(row!.input)).toMatch(/"sha256":"[0-9a-f]{64}"/);
  });

  it('answers a revoked node\'s unused enrollment token with "revoked"', async () => {
    await api.sites.add({ id: 'plant' });
    const t = await api.identity.createEnrollToken({ node: 'gone', siteId: 'plant', ttlMinutes: 10 });
    await api.identity.revokeNode({ name: 'gone' });
    const err = await enrollOverMmi(server.info.mmiUrl!, t).catch((e: unknown) => e);
    expect(String(err)).toMatch(/enrollment refused \(403\).*node \\"gone\\" was revoked/);
    expect(String(err)).not.toMatch(/already used/);
  });

  it('limits failed enrollments per token and address, not every enrollment from the address', async () => {
    const { csrPem } = await createKeyAndCsr({});
    const good = await api.identity.createEnrollToken({ node: 'fresh', siteId: 'plant', ttlMinutes: 10 });
    const pinned = createMmiClient({
      baseUrl: server.info.mmiUrl!,
      serverCheck: { pinnedCaFingerprint: good.caFingerprint },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++)
        statuses.push(
          (await pinned.post('/api/v1/outpost/enroll', { token: 'opt1.not-a-token', csr: csrPem })).status,
        );
      expect(statuses).toEqual([...new Array(10).fill(403), 429]);
    } finally {
      pinned.close();
    }
    // Another node at the same address enrolls with its own token.
    const e = await enrollOverMmi(server.info.mmiUrl!, good);
    expect(e.clientId).toBe('default.fresh');
  });

  it('refuses capabilities in the rc.2 apiVersion/kind envelope with 400, and deep capabilities too', async () => {
    const t = await api.identity.createEnrollToken({ node: 'caps', siteId: 'plant', ttlMinutes: 10 });
    const e = await enrollOverMmi(server.info.mmiUrl!, t);
    const c = createMmiClient({ baseUrl: server.info.mmiUrl!, ...e });
    try {
      const path_ = '/api/v1/capabilities/caps';
      const rc2 = {
        apiVersion: 'device.margo.org/v1alpha1',
        kind: 'DeviceCapabilitiesManifest',
        ...capabilitiesFor('caps'),
      };
      const r = await c.put(path_, rc2);
      expect(r.status).toBe(400);
      expect(r.json<{ type: string }>().type).toMatch(/invalid-request$/);
      let deep: unknown = 'x';
      for (let i = 0; i < 3000; i++) deep = { a: deep };
      const d = await c.put(path_, { ...capabilitiesFor('caps'), 'x-outpost-extensions': deep });
      expect(d.status).toBe(400);
      expect(d.text()).toMatch(/nested deeper than 64 levels/);
      // Nothing was stored by either; the rc.3 body is taken.
      expect((await api.nodes.get({ name: 'caps' })).capabilities).toBeNull();
      expect((await c.put(path_, capabilitiesFor('caps'))).status).toBe(201);
    } finally {
      c.close();
    }
  });

  it('refuses control characters in names, and escapes them where stored names are printed', async () => {
    for (const name of ['\u001b[2J\u001b[31mred', 'nul\u0000x', 'evil\u202egnp.exe']) {
      const r = await cli('co', 'add', 'site', 'odd', '--name', name.replace('\u0000', '\u0001'));
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('must not contain control characters');
      expect(r.stderr.trimEnd()).not.toMatch(CONTROL_CHARACTERS);
      await expect(api.sites.add({ id: 'odd', name })).rejects.toMatchObject({ code: 'invalid-input' });
    }
    // A description read from a margo.yaml is checked the same way.
    const app = WASM_APP('1.0.0').replace('name: Hello WASM', 'name: "Hello\\e[31mWASM"');
    await expect(
      api.apps.add({ source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: app } } }),
    ).rejects.toMatchObject({ errors: [expect.objectContaining({ field: 'metadata.name' })] });
    // A name stored before these checks (or by another writer) is printed escaped.
    await api.sites.add({ id: 'legacy' });
    const db = new Database(path.join(home.home, 'outpost.db'));
    db.prepare("UPDATE sites SET name = ? WHERE id = 'legacy'").run('\u001b[2Jevil\u202etxt');
    db.close();
    const shown = await cli('co', 'list', 'sites');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('\\x1b[2Jevil\\u202etxt');
    for (const line of shown.stdout.split('\n')) expect(line).not.toMatch(CONTROL_CHARACTERS);
  });

  it('does not fetch from loopback, link-local or private hosts for a non-admin token, with one error for all', async () => {
    const git = await startGitServer();
    try {
      const real = git.createRepo('app', { 'margo.yaml': WASM_APP('3.0.0') });
      const { token } = await api.tenants.createToken({ name: 'developer' });
      const dev = createClient(contract, createHttpTransport({ baseUrl: server.info.url, token }));
      const closed = await freePort();
      const consolePort = new URL(server.info.url).port;
      const urls = [
        real, // a git server that answers
        `http://127.0.0.1:${consolePort}/x.git`, // an open port that is not git
        `http://127.0.0.1:${closed}/x.git`, // a closed port
        `http://localhost:${consolePort}/x.git`,
        `http://[::1]:${closed}/x.git`,
        'http://169.254.169.254/latest/meta-data.git',
        `http://0x7f000001:${consolePort}/x.git`,
        'http://10.255.255.1/x.git',
      ];
      const messages = new Set<string>();
      for (const url of urls) {
        const err = await dev.apps
          .add({ source: { kind: 'git', url } })
          .catch((e: unknown) => e as OutpostError);
        expect(err, url).toMatchObject({ code: 'network-error' });
        messages.add((err as Error).message.replace(/at \S+ \(/, 'at URL ('));
      }
      expect([...messages]).toEqual([
        'cannot reach a git repository at URL (nothing answered; hosts on loopback, link-local and private networks are not fetched from unless catalog.privateGitHosts allows it)',
      ]);
      expect(git.requests).toEqual([]); // nothing reached the git server
      // An administrator may (catalog.privateGitHosts: admins, the default).
      expect((await api.apps.add({ source: { kind: 'git', url: real } })).version.version).toBe('3.0.0');
    } finally {
      await git.close();
    }
  });
});
