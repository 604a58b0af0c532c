import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDGECTL, edgectl } from '../../../test/helpers/cli.js';
import { startRegistry, type TestRegistry } from '../../../test/helpers/registry.js';
import { MediaType } from '../../../lib/oci/index.js';
import { startProxy, type TestProxy } from '../../../lib/oci/testing/http-proxy.js';
import { EMPTY_WASM, writeTarGz } from '../../../lib/oci/testing/archives.js';
import { layerFileName } from './pull.js';
import { waitFor } from '../../../test/helpers/wait.js';

// Runs the built CLI (bin/edgectl.js → dist/, built by the test global setup) against a real registry.

let reg: TestRegistry;
let tmp: string;

beforeAll(async () => {
  reg = await startRegistry();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-oci-cli-'));
});
afterAll(async () => {
  await reg?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function expectOneLineError(
  r: { code: number | null; stderr: string; stdout: string },
  pattern: RegExp,
): void {
  expect(r.code).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^edgectl: /);
  expect(lines[0]).toMatch(pattern);
}

describe('edgectl oci push | inspect | pull', () => {
  it('round-trips a WASM module', async () => {
    const file = path.join(tmp, 'sensor.wasm');
    fs.writeFileSync(file, EMPTY_WASM);
    const ref = `oci://${reg.host}/wasm/sensor:1.0.0`;
    const pushed = await edgectl(['oci', 'push', file, ref, '--plain-http', '-o', 'json']);
    expect(pushed.code).toBe(0);
    expect(pushed.stderr).toContain(
      `pushing sensor.wasm to ${reg.host}/wasm/sensor:1.0.0 as a WASM module (config application/vnd.wasm.config.v0+json, layer application/wasm)\n`,
    );
    const out = JSON.parse(pushed.stdout) as { digest: string; kind: string };
    expect(out.kind).toBe('wasm');

    const inspected = await edgectl(['oci', 'inspect', ref, '--plain-http', '-o', 'json']);
    expect(inspected.code).toBe(0);
    const info = JSON.parse(inspected.stdout) as {
      digest: string;
      config: { mediaType: string; content: unknown };
      layers: { mediaType: string; title: string }[];
    };
    expect(info.digest).toBe(out.digest);
    expect(info.config.mediaType).toBe(MediaType.wasmConfig);
    expect(info.config.content).toMatchObject({ architecture: 'wasm', os: 'wasip1' });
    expect(info.layers).toMatchObject([{ mediaType: 'application/wasm', title: 'sensor.wasm' }]);

    const dir = path.join(tmp, 'pull-wasm');
    const pulled = await edgectl([
      'oci',
      'pull',
      `${reg.host}/wasm/sensor@${out.digest}`,
      '--out',
      dir,
      '--plain-http',
    ]);
    expect(pulled.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'sensor.wasm')).equals(EMPTY_WASM)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['sensor.wasm']);
  });

  it('round-trips a compose archive; inspect shows the Margo media types', async () => {
    const file = path.join(tmp, 'web.tar.gz');
    await writeTarGz(file, [
      { name: 'web/', type: 'directory' },
      { name: 'web/compose.yaml', content: 'services:\n  web:\n    image: busybox\n' },
    ]);
    const ref = `${reg.host}/compose/web:2.0.0`;
    const pushed = await edgectl(['oci', 'push', file, ref, '--plain-http']);
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/^pushed: +127\.0\.0\.1:\d+\/compose\/web:2\.0\.0$/m);

    const inspected = await edgectl(['oci', 'inspect', ref, '--plain-http']);
    expect(inspected.code).toBe(0);
    expect(inspected.stdout).toMatch(/^kind: +compose$/m);
    expect(inspected.stdout).toContain(`artifact type:  ${MediaType.composeArtifact}`);
    expect(inspected.stdout).toMatch(
      new RegExp(`^web\\.tar\\.gz +${MediaType.composeLayer.replace(/[.+]/g, '\\$&')} `, 'm'),
    );

    const dir = path.join(tmp, 'pull-compose');
    const pulled = await edgectl(['oci', 'pull', ref, '--out', dir, '--plain-http', '-o', 'yaml']);
    expect(pulled.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'web.tar.gz')).equals(fs.readFileSync(file))).toBe(true);
    const again = await edgectl(['oci', 'pull', ref, '--out', dir, '--plain-http']);
    expect(again.stdout).toContain('(up to date)');
  });

  it('round-trips a Margo application package: margo.yaml with its resources, under their titles', async () => {
    const src = path.join(tmp, 'app-src');
    fs.mkdirSync(path.join(src, 'resources'), { recursive: true });
    fs.writeFileSync(path.join(src, 'resources', 'icon.png'), 'png bytes');
    const description = [
      'apiVersion: margo.org/v1-alpha1',
      'kind: ApplicationDescription',
      'id: hello-pkg',
      'metadata:',
      '  name: Hello package',
      '  version: 1.0.0',
      '  catalog:',
      '    application:',
      '      icon: ./resources/icon.png',
      '    organization: [{ name: Example }]',
      'deploymentProfiles: []',
      '',
    ].join('\n');
    fs.writeFileSync(path.join(src, 'margo.yaml'), description);
    const ref = `${reg.host}/apps/hello-pkg:1.0.0`;
    const pushed = await edgectl(['oci', 'push', path.join(src, 'margo.yaml'), ref, '--plain-http']);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(pushed.stderr).not.toContain('warning');

    const inspected = await edgectl(['oci', 'inspect', ref, '--plain-http', '-o', 'json']);
    expect(inspected.code).toBe(0);
    expect(JSON.parse(inspected.stdout)).toMatchObject({
      kind: 'margo-app',
      artifactType: MediaType.margoApp,
      config: { mediaType: MediaType.ociEmpty },
      layers: [
        { mediaType: MediaType.margoAppDescription, title: 'margo.yaml' },
        { mediaType: 'application/vnd.margo.app.icon.v1+png', title: 'resources/icon.png' },
      ],
    });

    const dir = path.join(tmp, 'pull-app');
    const pulled = await edgectl(['oci', 'pull', ref, '--out', dir, '--plain-http']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'margo.yaml'), 'utf8')).toBe(description);
    expect(fs.readFileSync(path.join(dir, 'resources', 'icon.png'), 'utf8')).toBe('png bytes');
  });

  it('fails with one line and a non-zero exit for expected failures', async () => {
    const notes = path.join(tmp, 'notes.txt');
    fs.writeFileSync(notes, 'x');
    const [missing, shortName, plainRemote, unknownKind, noTag, tlsToPlain] = await Promise.all([
      edgectl(['oci', 'inspect', `${reg.host}/compose/web:9.9.9`, '--plain-http']),
      edgectl(['oci', 'inspect', 'library/alpine']),
      edgectl(['oci', 'pull', '10.11.12.13:5000/a:1', '--out', tmp, '--plain-http']),
      edgectl(['oci', 'push', notes, `${reg.host}/x/y:1`, '--plain-http']),
      edgectl(['oci', 'push', notes, `${reg.host}/x/y`, '--plain-http', '--artifact-type', 'a/b']),
      edgectl(['oci', 'inspect', `${reg.host}/compose/web:2.0.0`]),
    ]);
    expectOneLineError(missing, /compose\/web:9\.9\.9: manifest not found/);
    expectOneLineError(shortName, /invalid OCI reference "library\/alpine"/);
    expectOneLineError(
      plainRemote,
      /refusing plain HTTP to 10\.11\.12\.13:5000: it is not a loopback address/,
    );
    expectOneLineError(unknownKind, /cannot tell what kind of artifact notes\.txt is.*--artifact-type/);
    expect(unknownKind.code).toBe(2);
    expectOneLineError(noTag, /push needs a tag/);
    expectOneLineError(tlsToPlain, /the registry may speak plain HTTP/);
  });
});

describe('credentials', () => {
  let proxy: TestProxy;
  const secret = 'p@ss word with spaces';
  beforeAll(async () => {
    const expected = `Basic ${Buffer.from(`ci:${secret}`).toString('base64')}`;
    proxy = await startProxy({
      target: reg.url,
      intercept: (req, res) => {
        if (req.headers.authorization === expected) return false;
        res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
        return true;
      },
    });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('takes them from --password-stdin or EDGE_OCI_USERNAME/EDGE_OCI_PASSWORD and never prints them', async () => {
    const file = path.join(tmp, 'cred.wasm');
    fs.writeFileSync(file, EMPTY_WASM);
    const viaStdin = await edgectl(
      ['oci', 'push', file, `${proxy.host}/auth/m:1`, '--plain-http', '-u', 'ci', '--password-stdin'],
      { input: `${secret}\n` },
    );
    expect(viaStdin.code).toBe(0);
    const viaEnv = await edgectl(['oci', 'inspect', `${proxy.host}/auth/m:1`, '--plain-http', '-o', 'json'], {
      env: { EDGE_OCI_USERNAME: 'ci', EDGE_OCI_PASSWORD: secret },
    });
    expect(viaEnv.code).toBe(0);
    const denied = await edgectl(['oci', 'inspect', `${proxy.host}/auth/m:1`, '--plain-http'], {
      env: { EDGE_OCI_USERNAME: 'ci', EDGE_OCI_PASSWORD: 'wrong' },
    });
    expectOneLineError(denied, /refused the credentials/);
    for (const r of [viaStdin, viaEnv, denied]) expect(r.stdout + r.stderr).not.toContain(secret);
    expectOneLineError(
      await edgectl(['oci', 'inspect', `${proxy.host}/auth/m:1`, '--plain-http', '-u', 'ci'], {
        env: { EDGE_OCI_PASSWORD: '' },
      }),
      /a password is needed for user "ci"/,
    );
  });
});

describe('Ctrl-C during a pull', () => {
  it('stops with a one-line message, keeps the partial file, and the next pull resumes it', async () => {
    const data = crypto.randomBytes(6 * 1024 * 1024);
    const file = path.join(tmp, 'big.bin');
    fs.writeFileSync(file, data);
    const ref = `${reg.host}/files/big:1`;
    const pushed = await edgectl([
      'oci',
      'push',
      file,
      ref,
      '--plain-http',
      '--artifact-type',
      'application/x.test',
    ]);
    expect(pushed.code).toBe(0);
    // Progress for a large file, as plain lines when stderr is not a terminal.
    expect(pushed.stderr).toMatch(/^big\.bin: .*\d+% \(.* of 6\.0 MiB\)$/m);
    expect(pushed.stderr).toMatch(/^big\.bin: done \(6\.0 MiB\)$/m);

    const proxy = await startProxy({
      target: reg.url,
      fault: (req) =>
        req.url?.includes('/blobs/') && !req.headers.range ? { delayMsPerChunk: 25 } : undefined,
    });
    const dir = path.join(tmp, 'pull-big');
    const partial = path.join(dir, 'big.bin.partial');
    try {
      const child = spawn(
        process.execPath,
        [EDGECTL, 'oci', 'pull', `${proxy.host}/files/big:1`, '--out', dir, '--plain-http'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await waitFor(() => fs.statSync(partial).size >= 1024 * 1024, {
        what: 'the first MiB of the pull',
        timeoutMs: 20_000,
      }).finally(() => child.kill('SIGINT'));
      const code = await exited;
      expect(code).toBe(130);
      expect(stderr).toMatch(/^big\.bin: \d+% \(/m);
      expect(stderr).toMatch(
        /^edgectl: pull of .* cancelled; .*big\.bin\.partial is kept and the next pull resumes it$/m,
      );
      const kept = fs.statSync(partial).size;
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(data.length);
      expect(fs.existsSync(path.join(dir, 'big.bin'))).toBe(false);

      const resumed = await edgectl([
        'oci',
        'pull',
        `${proxy.host}/files/big:1`,
        '--out',
        dir,
        '--plain-http',
      ]);
      expect(resumed.code).toBe(0);
      expect(proxy.requests.filter((r) => r.range).map((r) => r.range)).toEqual([`bytes=${kept}-`]);
      expect(fs.readFileSync(path.join(dir, 'big.bin')).equals(data)).toBe(true);
      expect(fs.existsSync(partial)).toBe(false);
    } finally {
      await proxy.stop();
    }
  });
});

describe('layerFileName', () => {
  const d = 'sha256:' + 'b'.repeat(64);
  it('uses a safe title, else the digest', () => {
    const l = (title?: string) => ({
      mediaType: 'x/y',
      digest: d,
      size: 1,
      ...(title ? { annotations: { 'org.opencontainers.image.title': title } } : {}),
    });
    expect(layerFileName(l('a.wasm'))).toBe('a.wasm');
    expect(layerFileName(l('resources/icon.png'))).toBe('resources/icon.png');
    for (const bad of [undefined, '../x', '/etc/passwd', 'a/../../b', '.', 'C:\\x', 'a//b/'])
      expect(layerFileName(l(bad))).toBe(`sha256-${'b'.repeat(64)}`);
  });
});
