import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { buildBusyboxImage, createPodmanEnv, podmanUsable, type PodmanTestEnv } from '../helpers/podman.js';

import { containerdUsable, startContainerd } from '../helpers/containerd.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The site registry of a real `edgectl server` (role all) against real clients: podman and skopeo over
 * HTTPS with the site CA (`--cert-dir`), with the server's token or a client certificate from the site
 * CA; containerd's ctr likewise (when containerd is installed and the tests run as root); `edgectl oci` on loopback and over HTTPS; Range requests; a server killed mid-upload; garbage
 * collection from the CLI.
 */
const usable = podmanUsable();
const ctrd = containerdUsable();

interface Info {
  url: string;
  token: string;
  registryUrl?: string;
  registryLoopbackUrl?: string;
}

const sha = (b: Uint8Array) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** One HTTP(S) request; the body is read whole. */
function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer; ca?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        ...(opts.ca ? { ca: opts.ca } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('site registry', () => {
  const home = tempHome('outpost-sitereg-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-sitereg-work-'));
  let server: ServerProcess;
  let info: Info;
  let ca = '';
  let certDir = '';
  let https_ = '';
  let loop = '';
  let basic = '';
  const env = () => ({ EDGE_HOME: home.home });

  const start = async () => {
    server = await startServer(home.home);
    info = server.info as Info;
    https_ = new URL(info.registryUrl!).host;
    loop = new URL(info.registryLoopbackUrl!).host;
    basic = `Basic ${Buffer.from(`outpost:${info.token}`).toString('base64')}`;
  };

  beforeAll(async () => {
    await start();
    ca = fs.readFileSync(path.join(home.home, 'pki', 'site-ca', 'ca.pem'), 'utf8');
    certDir = path.join(work, 'certs');
    fs.mkdirSync(certDir);
    fs.writeFileSync(path.join(certDir, 'ca.crt'), ca);
  });

  afterAll(async () => {
    await server?.stop();
    home.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('publishes its URLs in server.json: HTTPS with the site CA, plain HTTP on 127.0.0.1', async () => {
    expect(info.registryUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(info.registryLoopbackUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const anon = await request(`${info.registryUrl}/v2/`, { ca });
    expect(anon.status).toBe(401);
    expect(anon.headers['www-authenticate']).toBe('Basic realm="Outpost site registry"');
    expect(anon.headers['docker-distribution-api-version']).toBe('registry/2.0');
    expect(JSON.parse(anon.body.toString())).toMatchObject({ errors: [{ code: 'UNAUTHORIZED' }] });
    const ok = await request(`${info.registryUrl}/v2/`, { ca, headers: { authorization: basic } });
    expect(ok.status).toBe(200);
    const wrong = await request(`${info.registryLoopbackUrl}/v2/`, {
      headers: { authorization: `Bearer not-a-token` },
    });
    expect(wrong.status).toBe(401);
  });

  it('edgectl oci pushes and pulls a WASM module with no flags (loopback and HTTPS), and with --ca', async () => {
    const file = path.join(work, 'hello.wasm');
    fs.writeFileSync(file, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    const pushed = await edgectl(
      ['oci', 'push', file, `${loop}/registry.example/samples/hello:1.0.0`, '-o', 'json'],
      {
        env: env(),
      },
    );
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain(
      `pushing hello.wasm to ${loop}/registry.example/samples/hello:1.0.0 as a WASM module (config`,
    );
    const digest = (JSON.parse(pushed.stdout) as { digest: string }).digest;

    const inspected = await edgectl(
      ['oci', 'inspect', `${https_}/registry.example/samples/hello:1.0.0`, '-o', 'json'],
      {
        env: env(),
      },
    );
    expect(inspected.code, inspected.stderr).toBe(0);
    expect((JSON.parse(inspected.stdout) as { digest: string }).digest).toBe(digest);

    const out = path.join(work, 'pulled');
    const pulled = await edgectl(
      [
        'oci',
        'pull',
        `oci://${https_}/registry.example/samples/hello:1.0.0`,
        '--ca',
        path.join(home.home, 'pki', 'site-ca', 'ca.pem'),
        '-u',
        'outpost',
        '--password-stdin',
        '--out',
        out,
      ],
      { env: { EDGE_HOME: path.join(work, 'no-such-home') }, input: info.token },
    );
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(fs.readFileSync(path.join(out, 'hello.wasm')).equals(fs.readFileSync(file))).toBe(true);

    // Without the CA or the token it is refused, in one line.
    const untrusted = await edgectl(['oci', 'inspect', `${https_}/registry.example/samples/hello:1.0.0`], {
      env: { EDGE_HOME: path.join(work, 'no-such-home') },
    });
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/^edgectl: .*TLS certificate is not trusted.*\n$/);
  });

  it('edgectl oci takes site/<repository> for the site registry of the server running for EDGE_HOME', async () => {
    const file = path.join(work, 'alias.wasm');
    fs.writeFileSync(file, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0]));
    const pushed = await edgectl(
      ['oci', 'push', file, 'site/registry.example/samples/alias:1.0.0', '-o', 'json'],
      { env: env() },
    );
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).toContain(`pushing alias.wasm to ${loop}/registry.example/samples/alias:1.0.0 as`);
    const { digest } = JSON.parse(pushed.stdout) as { digest: string };
    const inspected = await edgectl(
      ['oci', 'inspect', `${https_}/registry.example/samples/alias:1.0.0`, '-o', 'json'],
      { env: env() },
    );
    expect(inspected.code, inspected.stderr).toBe(0);
    expect((JSON.parse(inspected.stdout) as { digest: string }).digest).toBe(digest);
    const viaAlias = await edgectl(
      ['oci', 'inspect', 'oci://site/registry.example/samples/alias:1.0.0', '-o', 'json'],
      {
        env: env(),
      },
    );
    expect((JSON.parse(viaAlias.stdout) as { digest: string }).digest).toBe(digest);

    // No server for that home: one line saying so, exit 3, nothing pushed anywhere.
    const none = await edgectl(['oci', 'push', file, 'site/registry.example/samples/alias:2.0.0'], {
      env: { EDGE_HOME: path.join(work, 'no-such-home') },
    });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(
      /^edgectl: site\/registry.example\/samples\/alias:2.0.0: "site\/" names the site registry of the server running for .*no-such-home, and none runs there .*\n$/,
    );
  });

  it('serves blobs with Range: 206 and Content-Range, 416 past the end, HEAD with the size', async () => {
    const data = crypto.randomBytes(100_000);
    const digest = sha(data);
    const put = await request(`${info.registryLoopbackUrl}/v2/range/test/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: {
        authorization: basic,
        'content-type': 'application/octet-stream',
        'content-length': String(data.length),
      },
      body: data,
    });
    expect(put.status).toBe(201);
    expect(put.headers['docker-content-digest']).toBe(digest);
    const blob = `${info.registryUrl}/v2/range/test/blobs/${digest}`;
    const part = await request(blob, { ca, headers: { authorization: basic, range: 'bytes=1000-1999' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${data.length}`);
    expect(part.body.equals(data.subarray(1000, 2000))).toBe(true);
    const tail = await request(blob, { ca, headers: { authorization: basic, range: 'bytes=-10' } });
    expect(tail.body.equals(data.subarray(data.length - 10))).toBe(true);
    const open = await request(blob, { ca, headers: { authorization: basic, range: 'bytes=99990-' } });
    expect(open.status).toBe(206);
    expect(open.body.length).toBe(10);
    const past = await request(blob, { ca, headers: { authorization: basic, range: 'bytes=100000-' } });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${data.length}`);
    const head = await request(blob, { ca, method: 'HEAD', headers: { authorization: basic } });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(data.length));
    expect(head.headers['accept-ranges']).toBe('bytes');
    const whole = await request(blob, { ca, headers: { authorization: basic } });
    expect(sha(whole.body)).toBe(digest);
  });

  describe.skipIf(!usable.ok)(`podman and skopeo${usable.ok ? '' : ` (skipped: ${usable.reason})`}`, () => {
    let pe: PodmanTestEnv;
    let image = '';
    let clientCerts = '';

    beforeAll(async () => {
      pe = createPodmanEnv('outpost-sitereg-podman-');
      image = await buildBusyboxImage(pe, { files: { '/hello.txt': 'from the site registry\n' } });
      // A client certificate from the site CA, as a node has: podman and skopeo present it from their cert dir.
      const out = path.join(work, 'client');
      const r = await edgectl(['site', 'client', 'issue', '--client-id', 'tester', '--out', out], {
        env: env(),
      });
      expect(r.code, r.stderr).toBe(0);
      clientCerts = path.join(work, 'client-certs');
      fs.mkdirSync(clientCerts);
      fs.copyFileSync(path.join(out, 'trust-bundle-ca.pem'), path.join(clientCerts, 'ca.crt'));
      fs.copyFileSync(path.join(out, 'client-svid-cert.pem'), path.join(clientCerts, 'client.cert'));
      fs.copyFileSync(path.join(out, 'client-svid-key.pem'), path.join(clientCerts, 'client.key'));
    });
    afterAll(async () => {
      await pe?.podman(['rmi', '-f', `${https_}/registry.example/test/busybox:1`]);
      await pe?.cleanup();
    });

    it('podman pushes with the token and the site CA, and pulls with a client certificate', async () => {
      const target = `${https_}/registry.example/test/busybox:1`;
      const noCa = await pe.podman(['push', '--creds', `outpost:${info.token}`, image, `docker://${target}`]);
      expect(noCa.code).not.toBe(0);
      expect(noCa.stderr).toMatch(/certificate signed by unknown authority/);
      await pe.podmanOk([
        'push',
        '--cert-dir',
        certDir,
        '--creds',
        `outpost:${info.token}`,
        image,
        `docker://${target}`,
      ]);
      const local = JSON.parse(await pe.podmanOk(['image', 'inspect', image])) as { Id: string }[];

      await pe.podmanOk(['rmi', '-f', target]).catch(() => undefined);
      await pe.podmanOk(['pull', '--cert-dir', clientCerts, target]);
      const pulled = JSON.parse(await pe.podmanOk(['image', 'inspect', target])) as { Id: string }[];
      expect(pulled[0]!.Id).toBe(local[0]!.Id);
      const out = await pe.podmanOk(['run', '--rm', '--network', 'none', target, 'cat', '/hello.txt']);
      expect(out).toBe('from the site registry\n');

      // A client certificate may pull, never push.
      const denied = await pe.podman([
        'push',
        '--cert-dir',
        clientCerts,
        image,
        `docker://${https_}/x/denied:1`,
      ]);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/denied|unauthorized|authentication required/i);
    });

    it.skipIf(!ctrd.ok)(
      `containerd (ctr) pulls with the site CA, by token and by client certificate${ctrd.ok ? '' : ` (skipped: ${ctrd.reason})`}`,
      async () => {
        const c = await startContainerd();
        try {
          const ref = `${https_}/registry.example/test/busybox:1`;
          // ctr takes plain HTTP for a loopback host unless its hosts.toml says otherwise.
          const hostsDir = (client: boolean) => {
            const dir = path.join(work, client ? 'ctr-hosts-client' : 'ctr-hosts', https_);
            fs.mkdirSync(dir, { recursive: true });
            fs.writeFileSync(
              path.join(dir, 'hosts.toml'),
              [
                `server = "${info.registryUrl}"`,
                `[host."${info.registryUrl}"]`,
                `  ca = "${path.join(certDir, 'ca.crt')}"`,
                ...(client
                  ? [
                      `  client = [["${path.join(clientCerts, 'client.cert')}", "${path.join(clientCerts, 'client.key')}"]]`,
                    ]
                  : []),
                '  capabilities = ["pull", "resolve"]',
                '',
              ].join('\n'),
            );
            return path.dirname(dir);
          };
          const anonymous = await c.ctr(['images', 'pull', '--hosts-dir', hostsDir(false), ref]);
          expect(anonymous.code).not.toBe(0);
          const byToken = await c.ctr([
            'images',
            'pull',
            '--hosts-dir',
            hostsDir(false),
            '--user',
            `outpost:${info.token}`,
            ref,
          ]);
          expect(byToken.code, byToken.stderr).toBe(0);
          expect((await c.ctr(['images', 'ls', '-q'])).stdout.split('\n')).toContain(ref);
          await c.ctr(['images', 'rm', ref]);
          const byCert = await c.ctr(['images', 'pull', '--hosts-dir', hostsDir(true), ref]);
          expect(byCert.code, byCert.stderr).toBe(0);
          expect((await c.ctr(['images', 'ls', '-q'])).stdout.split('\n')).toContain(ref);
        } finally {
          await c.stop();
        }
      },
    );

    it('skopeo copies from the site registry and back into it, and inspects with the site CA', async () => {
      const src = `docker://${https_}/registry.example/test/busybox:1`;
      const layout = path.join(work, 'oci-layout');
      const copied = await run(
        'skopeo',
        ['copy', '--src-cert-dir', clientCerts, src, `oci:${layout}:busybox`],
        pe.env,
      );
      expect(copied.code, copied.stderr).toBe(0);
      const pushed = await run(
        'skopeo',
        [
          'copy',
          '--dest-cert-dir',
          certDir,
          '--dest-creds',
          `outpost:${info.token}`,
          `oci:${layout}:busybox`,
          `docker://${https_}/mirror/busybox:copied`,
        ],
        pe.env,
      );
      expect(pushed.code, pushed.stderr).toBe(0);
      const inspected = await run(
        'skopeo',
        [
          'inspect',
          '--cert-dir',
          certDir,
          '--creds',
          `outpost:${info.token}`,
          `docker://${https_}/mirror/busybox:copied`,
        ],
        pe.env,
      );
      expect(inspected.code, inspected.stderr).toBe(0);
      expect((JSON.parse(inspected.stdout) as { Name: string }).Name).toBe(`${https_}/mirror/busybox`);
      const tags = await request(`${info.registryUrl}/v2/mirror/busybox/tags/list`, {
        ca,
        headers: { authorization: basic },
      });
      expect(JSON.parse(tags.body.toString())).toEqual({ name: 'mirror/busybox', tags: ['copied'] });
      const anon = await run(
        'skopeo',
        ['inspect', '--cert-dir', certDir, `docker://${https_}/mirror/busybox:copied`],
        pe.env,
      );
      expect(anon.code).not.toBe(0);
    });
  });

  it('a server killed mid-upload leaves no partial blob; the upload can be resumed after the restart', async () => {
    const data = crypto.randomBytes(3 << 20);
    const digest = sha(data);
    const started = await request(`${info.registryLoopbackUrl}/v2/crash/test/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: basic, 'content-length': '0' },
    });
    expect(started.status).toBe(202);
    const location = started.headers.location!;
    const id = started.headers['docker-upload-uuid'] as string;
    // A chunk that never ends: the first MiB arrives, then the server dies.
    const req = http.request(new URL(location, info.registryLoopbackUrl), {
      method: 'PATCH',
      headers: { authorization: basic, 'content-type': 'application/octet-stream' },
    });
    req.on('error', () => undefined);
    req.write(data.subarray(0, 1 << 20));
    const dataFile = path.join(home.home, 'registry', 'uploads', id, 'data');
    await waitFor(() => fs.existsSync(dataFile) && fs.statSync(dataFile).size >= 1 << 20, {
      what: 'the first chunk on disk',
      intervalMs: 100,
    });
    expect(await server.stop('SIGKILL')).toBe(null);
    req.destroy();

    await start();
    const head = await request(`${info.registryLoopbackUrl}/v2/crash/test/blobs/${digest}`, {
      method: 'HEAD',
      headers: { authorization: basic },
    });
    expect(head.status).toBe(404);
    // Every file in the blob store is exactly the content its name says.
    const blobs = path.join(home.home, 'registry', 'blobs', 'sha256');
    for (const shard of fs.readdirSync(blobs))
      for (const f of fs.readdirSync(path.join(blobs, shard)))
        expect(sha(fs.readFileSync(path.join(blobs, shard, f)))).toBe(`sha256:${f}`);

    // The session survived: the client asks where it stands and sends the rest.
    const status = await request(`${info.registryLoopbackUrl}/v2/crash/test/blobs/uploads/${id}`, {
      headers: { authorization: basic },
    });
    expect(status.status).toBe(204);
    const have = Number(/^0-(\d+)$/.exec(status.headers.range as string)![1]) + 1;
    expect(have).toBeGreaterThan(0);
    const rest = await request(
      `${info.registryLoopbackUrl}/v2/crash/test/blobs/uploads/${id}?digest=${encodeURIComponent(digest)}`,
      {
        method: 'PUT',
        headers: {
          authorization: basic,
          'content-type': 'application/octet-stream',
          'content-length': String(data.length - have),
          'content-range': `${have}-${data.length - 1}`,
        },
        body: data.subarray(have),
      },
    );
    expect(rest.status, rest.body.toString()).toBe(201);
    const got = await request(`${info.registryLoopbackUrl}/v2/crash/test/blobs/${digest}`, {
      headers: { authorization: basic },
    });
    expect(got.body.equals(data)).toBe(true);
  });

  it('edgectl registry gc keeps tagged artifacts and removes what nothing references', async () => {
    // An artifact pushed, then untagged: garbage once the grace period is over.
    const file = path.join(work, 'old.wasm');
    fs.writeFileSync(file, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x42]));
    const pushed = await edgectl(['oci', 'push', file, `${loop}/old/module:1`, '-o', 'json'], { env: env() });
    expect(pushed.code, pushed.stderr).toBe(0);
    const old = JSON.parse(pushed.stdout) as { digest: string; layers: { digest: string }[] };
    const del = await request(`${info.registryLoopbackUrl}/v2/old/module/manifests/1`, {
      method: 'DELETE',
      headers: { authorization: basic },
    });
    expect(del.status).toBe(202);

    const dry = await edgectl(['registry', 'gc', '--dry-run', '--grace', '0', '-o', 'json'], { env: env() });
    expect(dry.code, dry.stderr).toBe(0);
    const d = JSON.parse(dry.stdout) as { dryRun: boolean; removed: { digest: string }[] };
    expect(d.dryRun).toBe(true);
    expect(d.removed.map((r) => r.digest)).toEqual(
      expect.arrayContaining([old.digest, old.layers[0]!.digest]),
    );

    const gc = await edgectl(['registry', 'gc', '--grace', '0'], { env: env() });
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/^removed:\s+\d+ blob\(s\)/m);
    const gone = await request(`${info.registryLoopbackUrl}/v2/old/module/blobs/${old.layers[0]!.digest}`, {
      method: 'HEAD',
      headers: { authorization: basic },
    });
    expect(gone.status).toBe(404);
    // The tagged WASM module is still whole.
    const kept = await edgectl(['oci', 'inspect', `${loop}/registry.example/samples/hello:1.0.0`], {
      env: env(),
    });
    expect(kept.code, kept.stderr).toBe(0);

    const status = await edgectl(['registry', 'status', '-o', 'json'], { env: env() });
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { repositories: string[] }).repositories).toContain(
      'registry.example/samples/hello',
    );
    const bad = await edgectl(['registry', 'gc', '--grace', 'soon'], { env: env() });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('edgectl: --grace: "soon" is not a number of seconds\n');
  });
});
