import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startTestCore } from '../../test/helpers/core.js';
import { startGitServer, type GitServer } from '../../test/helpers/git-server.js';
import { OutpostError } from '../../lib/errors/index.js';
import { createLogger, type Logger } from '../../lib/log/index.js';
import type { Upload } from '../../lib/contract/index.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

function margo(version: string, extra = ''): string {
  return `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
id: hello-wasm
metadata:
  name: Hello WASM
  version: ${version}
  catalog:
    application:
      icon: ./icon.png
      tagline: Says hello${extra}
    organization:
      - name: Outpost Samples
        site: https://example.com
deploymentProfiles:
  - type: custom
    id: hello-wasm-wasm
    components:
      - name: hello
        properties:
          repository: oci://127.0.0.1:5000/samples/hello-wasm
          revision: ${version}
    deviceConstraints:
      capacityRequirements:
        memory: 16Mi
    x-outpost-extensions:
      runtime: wasm
parameters:
  greeting:
    value: hello
    targets:
      - pointer: GREETING
        components: [hello]
configuration:
  sections:
    - name: General
      settings:
        - parameter: greeting
          name: Greeting
          schema: greetingText
  schema:
    - name: greetingText
      dataType: string
      maxLength: 40
`;
}

const upload = (content: string, resources?: Record<string, Buffer>): { kind: 'upload'; upload: Upload } => ({
  kind: 'upload',
  upload: {
    fileName: 'margo.yaml',
    content,
    ...(resources
      ? {
          resources: Object.fromEntries(Object.entries(resources).map(([k, v]) => [k, v.toString('base64')])),
        }
      : {}),
  },
});

/** The database file and its write-ahead log: recent writes live in the log until a checkpoint. */
function storedBytes(home: string): Buffer {
  return Buffer.concat(
    ['outpost.db', 'outpost.db-wal']
      .map((f) => path.join(home, f))
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f)),
  );
}

/** A trace-level logger whose output the test can read. */
function capturingLogger(): { logger: Logger; text(): string } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'trace', destination: { write: (s: string) => void lines.push(s) } });
  return { logger, text: () => lines.join('') };
}

async function errorOf(p: Promise<unknown>): Promise<OutpostError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OutpostError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('App Store', () => {
  let t: Awaited<ReturnType<typeof startTestCore>>;
  let gitSrv: GitServer;
  let privateSrv: GitServer;

  beforeAll(async () => {
    t = await startTestCore({
      overrides: { catalog: { gitTimeoutMs: 3000, credentials: [] } },
    });
    gitSrv = await startGitServer();
    privateSrv = await startGitServer({ auth: { username: 'ci', password: 's3cret-token' } });
  });
  afterAll(async () => {
    await gitSrv.close();
    await privateSrv.close();
    await t.stop();
  });

  it('registers an uploaded description with its icon and keeps the exact bytes', async () => {
    const c = t.core.client();
    const text = margo('1.0.0');
    const r = await c.apps.add({ source: upload(text, { 'icon.png': PNG }) });
    expect(r.created).toBe(true);
    expect(r.app).toMatchObject({
      id: 'hello-wasm',
      name: 'Hello WASM',
      latestVersion: '1.0.0',
      versions: ['1.0.0'],
      profileTypes: ['custom'],
    });
    expect(r.app.icon).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    const got = await c.apps.get({ id: 'hello-wasm' });
    expect(got.original).toBe(text);
    expect(got.version.description.parameters.greeting?.value).toBe('hello');
  });

  it('keeps every version; the same version again is a no-op, with other content it is refused', async () => {
    const c = t.core.client();
    await c.apps.add({ source: upload(margo('1.1.0'), { 'icon.png': PNG }) });
    const again = await c.apps.add({ source: upload(margo('1.1.0'), { 'icon.png': PNG }) });
    expect(again.created).toBe(false);
    const e = await errorOf(
      c.apps.add({ source: upload(margo('1.1.0', ' differently'), { 'icon.png': PNG }) }),
    );
    expect(e.code).toBe('conflict');
    expect(e.message).toBe(
      'hello-wasm version 1.1.0 is already registered with different content; publish a new version instead',
    );
    const list = await c.apps.list({});
    expect(list.apps.find((a) => a.id === 'hello-wasm')?.versions).toEqual(['1.0.0', '1.1.0']);
    expect(
      (await c.apps.get({ id: 'hello-wasm', version: '1.1.0' })).version.description.metadata.catalog
        .application?.tagline,
    ).toBe('Says hello');
  });

  it('refuses a description whose id differs from --name, storing nothing', async () => {
    const c = t.core.client();
    const e = await errorOf(c.apps.add({ source: upload(margo('2.0.0')), expectId: 'other-app' }));
    expect(e.code).toBe('invalid-input');
    expect(e.message).toContain('the application id is "hello-wasm", not "other-app"');
    expect((await c.apps.list({})).apps.find((a) => a.id === 'hello-wasm')?.versions).not.toContain('2.0.0');
  });

  it('reports malformed YAML with file, line and column and stores nothing', async () => {
    const c = t.core.client();
    const before = (await c.apps.list({})).apps.length;
    const e = await errorOf(c.apps.add({ source: upload('id: x\nmetadata:\n  name: [unclosed\n') }));
    expect(e.code).toBe('margo/invalid-description');
    expect(e.errors?.[0]).toMatchObject({ file: 'margo.yaml' });
    expect(e.errors?.[0]?.line).toBeGreaterThan(0);
    expect((await c.apps.list({})).apps.length).toBe(before);
    const audit = await c.system.audit({ limit: 1 });
    expect(audit.entries[0]).toMatchObject({
      action: 'apps.add',
      result: 'error',
      errorCode: 'margo/invalid-description',
    });
  });

  it('refuses a 50 MB description cheaply with a clear message', async () => {
    const c = t.core.client();
    const big = 'x'.repeat(50 * 1024 * 1024);
    // (How cheaply is a matter for benchmarks: no timing assertion here.)
    const e = await errorOf(c.apps.add({ source: upload(big) }));
    expect(e.code).toBe('payload-too-large');
    expect(e.message).toMatch(/margo\.yaml: .* exceeds the limit of 1048576 bytes/);
  });

  it('adds from a git repository by branch, tag and commit', async () => {
    const url = gitSrv.createRepo('apps', { 'hello/margo.yaml': margo('3.0.0'), 'hello/icon.png': PNG });
    // a second commit on main and a tag on the first
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-clone-'));
    await gitSrv.git(['clone', '-q', url, work]);
    const firstCommit = (await gitSrv.git(['rev-parse', 'HEAD'], work)).trim();
    await gitSrv.git(['tag', 'v3'], work);
    fs.writeFileSync(path.join(work, 'hello/margo.yaml'), margo('3.1.0'));
    await gitSrv.git(['commit', '-qam', 'v3.1'], work);
    await gitSrv.git(['push', '-q', 'origin', 'main', 'v3'], work);
    fs.rmSync(work, { recursive: true, force: true });

    const c = t.core.client();
    const byBranch = await c.apps.add({ source: { kind: 'git', url, ref: 'main', path: 'hello' } });
    expect(byBranch.version.version).toBe('3.1.0');
    expect(byBranch.version.source).toMatchObject({
      kind: 'git',
      location: url,
      ref: 'main',
      path: 'hello/margo.yaml',
    });
    expect(byBranch.app.icon).toContain('data:image/png;base64,');
    const byTag = await c.apps.add({ source: { kind: 'git', url, ref: 'v3', path: 'hello/margo.yaml' } });
    expect(byTag.version.version).toBe('3.0.0');
    expect(byTag.version.source.commit).toBe(firstCommit);
    await c.apps.remove({ id: 'hello-wasm', version: '3.0.0' });
    const byCommit = await c.apps.add({ source: { kind: 'git', url, ref: firstCommit, path: 'hello' } });
    expect(byCommit.version.version).toBe('3.0.0');
    expect(byCommit.version.source.commit).toBe(firstCommit);
  });

  it('refuses a repository without margo.yaml, naming the URL, ref and path', async () => {
    const url = gitSrv.createRepo('empty', { 'README.md': '# nothing here\n' });
    const e = await errorOf(t.core.client().apps.add({ source: { kind: 'git', url } }));
    expect(e.code).toBe('not-found');
    expect(e.message).toMatch(
      new RegExp(
        `^no margo\\.yaml in ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(commit [0-9a-f]{12}\\)$`,
      ),
    );
  });

  it('names the missing branch', async () => {
    const url = gitSrv.createRepo('onebranch', { 'margo.yaml': margo('4.0.0') });
    const e = await errorOf(
      t.core.client().apps.add({ source: { kind: 'git', url, ref: 'does-not-exist' } }),
    );
    expect(e.code).toBe('git-error');
    expect(e.message).toContain('"does-not-exist" was not found');
  });

  it('fails fast and clearly on an unreachable repository', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const url = `http://127.0.0.1:${port}/gone.git`;
    const e = await errorOf(t.core.client().apps.add({ source: { kind: 'git', url } }));
    expect(e.code).toBe('network-error');
    expect(e.message).toBe(`cannot reach ${url}/info/refs?service=git-upload-pack: connection refused`);
  });

  it('fails with a timeout on a server that never answers', async () => {
    const silent = net.createServer(() => {
      /* accept and say nothing */
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/slow.git`;
    try {
      const e = await errorOf(t.core.client().apps.add({ source: { kind: 'git', url } }));
      expect(e.code).toBe('network-error');
      expect(e.message).toContain('timed out waiting for the server');
    } finally {
      silent.close();
    }
  });

  it('uses a token from configuration for a private repository and never records nor logs it', async () => {
    const url = privateSrv.createRepo('private', {
      'margo.yaml': margo('5.0.0').replace('id: hello-wasm', 'id: private-app'),
    });
    const denied = await errorOf(t.core.client().apps.add({ source: { kind: 'git', url } }));
    expect(denied.code).toBe('git-error');
    expect(denied.message).toContain('needs credentials');

    const log = capturingLogger();
    const withToken = await startTestCore({
      logger: log.logger,
      overrides: {
        catalog: {
          gitTimeoutMs: 3000,
          credentials: [{ urlPrefix: privateSrv.url, username: 'ci', tokenEnv: 'OUTPOST_TEST_GIT_TOKEN' }],
        },
      },
    });
    process.env.OUTPOST_TEST_GIT_TOKEN = 's3cret-token';
    try {
      const r = await withToken.core.client().apps.add({ source: { kind: 'git', url } });
      expect(r.app.id).toBe('private-app');
      const dump = JSON.stringify([r, await withToken.core.client().system.audit({ limit: 10 })]);
      expect(dump).not.toContain('s3cret-token');
      expect(storedBytes(withToken.home).includes('s3cret-token')).toBe(false);
      expect(log.text()).not.toContain('s3cret-token');
    } finally {
      delete process.env.OUTPOST_TEST_GIT_TOKEN;
      await withToken.stop();
    }
  });

  it('accepts credentials written into the URL, but keeps them out of records, answers and logs', async () => {
    const url = privateSrv.createRepo('inline', {
      'margo.yaml': margo('6.0.0').replace('id: hello-wasm', 'id: inline-app'),
    });
    const withSecret = url.replace('http://', 'http://ci:s3cret-token@');
    const log = capturingLogger();
    const c = await startTestCore({
      logger: log.logger,
      overrides: { catalog: { gitTimeoutMs: 3000, credentials: [] } },
    });
    try {
      const r = await c.core.client().apps.add({ source: { kind: 'git', url: withSecret } });
      expect(r.app.id).toBe('inline-app');
      expect(r.version.source.location).toBe(url);
      // A refused call is audited too, with its input and its message.
      const refused = await errorOf(
        c.core.client().apps.add({ source: { kind: 'git', url: withSecret, ref: 'no-such-branch' } }),
      );
      expect(refused.code).toBe('git-error');
      const audit = (await c.core.client().system.audit({ limit: 10 })).entries;
      expect(audit.map((e) => [e.action, e.result])).toEqual([
        ['apps.add', 'error'],
        ['apps.add', 'ok'],
      ]);
      expect(audit[1]!.target).toBe(`app-from/${url.replace('http://', 'http://[redacted]@')}`);
      expect(JSON.stringify([r, refused.message, audit])).not.toContain('s3cret-token');
      expect(storedBytes(c.home).includes('s3cret-token')).toBe(false);
      expect(log.text()).not.toContain('s3cret-token');
    } finally {
      await c.stop();
    }
  });

  it('fetches from a private host for nobody when catalog.privateGitHosts is nobody, and for anyone when everyone', async () => {
    const url = gitSrv.createRepo('policy', {
      'margo.yaml': margo('7.0.0').replace('id: hello-wasm', 'id: policy-app'),
    });
    const nobody = await startTestCore({ overrides: { catalog: { privateGitHosts: 'nobody' } } });
    const everyone = await startTestCore({ overrides: { catalog: { privateGitHosts: 'everyone' } } });
    const member = { id: 'token:m', name: 'member', tenantId: 'default', admin: false };
    try {
      const refused = await errorOf(nobody.core.client().apps.add({ source: { kind: 'git', url } }));
      expect(refused.code).toBe('network-error');
      expect(refused.message).toMatch(/^cannot reach a git repository at /);
      const r = await everyone.core.client(member).apps.add({ source: { kind: 'git', url } });
      expect(r.app.id).toBe('policy-app');
    } finally {
      await nobody.stop();
      await everyone.stop();
    }
  });

  it('removes a version, then the whole app, and records every change in the audit log', async () => {
    const c = t.core.client();
    const before = (await c.apps.get({ id: 'hello-wasm' })).app.versions;
    const r1 = await c.apps.remove({ id: 'hello-wasm', version: before[0]! });
    expect(r1).toEqual({ removedVersions: [before[0]], appRemoved: false });
    const r2 = await c.apps.remove({ id: 'hello-wasm' });
    expect(r2.appRemoved).toBe(true);
    const e = await errorOf(c.apps.get({ id: 'hello-wasm' }));
    expect(e.code).toBe('not-found');
    const actions = (await c.system.audit({ limit: 100 })).entries
      .filter((x) => x.result === 'ok')
      .map((x) => x.action);
    expect(actions.filter((a) => a === 'apps.remove')).toHaveLength(3);
    expect(actions.filter((a) => a === 'apps.add').length).toBeGreaterThanOrEqual(5);
  });
});
