import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test/helpers/registry.js';
import { isOutpostError } from '../errors/index.js';
import { planPush } from './artifact-defaults.js';
import { digestOf, hashFile } from './digest.js';
import { MediaType } from './media-types.js';
import { createRegistryClient, type RegistryClient } from './registry-client.js';
import { EMPTY_WASM, writeTarGz } from './testing/archives.js';

// Interoperability with independent peers: what we push, skopeo reads and copies; what podman and
// skopeo push (OCI and Docker v2 manifests, an index), we pull and verify.

const run = promisify(execFile);

let reg: TestRegistry;
let client: RegistryClient;
let tmp: string;
let podmanEnv: NodeJS.ProcessEnv;
let podman: (...args: string[]) => Promise<string>;

async function skopeo(...args: string[]): Promise<string> {
  return (await run('skopeo', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

beforeAll(async () => {
  reg = await startRegistry();
  client = createRegistryClient({ plainHttp: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-interop-'));
  // podman needs these settings on this machine (test/helpers/podman.ts); vfs keeps storage in tmp.
  fs.writeFileSync(
    path.join(tmp, 'containers.conf'),
    '[containers]\ndefault_ulimits = ["nofile=1024:20000", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n',
  );
  podmanEnv = { ...process.env, CONTAINERS_CONF: path.join(tmp, 'containers.conf') };
  const storage = [
    '--root',
    path.join(tmp, 'storage'),
    '--runroot',
    path.join(tmp, 'r'), // podman refuses a runroot longer than 50 characters
    '--storage-driver',
    'vfs',
  ];
  podman = async (...args) => (await run('podman', [...storage, ...args], { env: podmanEnv })).stdout;
  fs.mkdirSync(path.join(tmp, 'rootfs'));
  fs.writeFileSync(path.join(tmp, 'rootfs', 'hello.txt'), 'hello from podman\n');
  await run('tar', ['-C', path.join(tmp, 'rootfs'), '-cf', path.join(tmp, 'rootfs.tar'), 'hello.txt']);
  await podman('import', path.join(tmp, 'rootfs.tar'), 'localhost/outpost-interop:1');
});

afterAll(async () => {
  await client?.close();
  await reg?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('what we push, skopeo sees', () => {
  it('a WASM module: raw manifest digest, config and layer bytes agree', async () => {
    const file = path.join(tmp, 'hello.wasm');
    fs.writeFileSync(file, EMPTY_WASM);
    const plan = await planPush(file);
    const pushed = await client.push({ ref: `${reg.host}/wasm/hello:1.0.0`, ...plan });
    const raw = await skopeo(
      'inspect',
      '--raw',
      '--tls-verify=false',
      `docker://${reg.host}/wasm/hello:1.0.0`,
    );
    expect(digestOf(raw)).toBe(pushed.digest);
    const config = JSON.parse(
      await skopeo(
        'inspect',
        '--config',
        '--raw',
        '--tls-verify=false',
        `docker://${reg.host}/wasm/hello:1.0.0`,
      ),
    ) as Record<string, unknown>;
    expect(config).toEqual({ architecture: 'wasm', os: 'wasip1', layerDigests: [digestOf(EMPTY_WASM)] });

    const layout = path.join(tmp, 'layout-wasm');
    await skopeo(
      'copy',
      '--src-tls-verify=false',
      `docker://${reg.host}/wasm/hello:1.0.0`,
      `oci:${layout}:1.0.0`,
    );
    const hex = digestOf(EMPTY_WASM).slice('sha256:'.length);
    expect(fs.readFileSync(path.join(layout, 'blobs', 'sha256', hex)).equals(EMPTY_WASM)).toBe(true);
  });

  it('a Margo compose archive keeps its artifactType and layer media type through skopeo copy', async () => {
    const file = path.join(tmp, 'web.tar.gz');
    await writeTarGz(file, [
      { name: 'web/', type: 'directory' },
      { name: 'web/compose.yaml', content: 'services:\n  web:\n    image: busybox\n' },
    ]);
    const plan = await planPush(file);
    expect(plan.kind).toBe('compose');
    await client.push({ ref: `${reg.host}/compose/web:0.1.0`, ...plan });
    const layout = path.join(tmp, 'layout-compose');
    await skopeo(
      'copy',
      '--src-tls-verify=false',
      `docker://${reg.host}/compose/web:0.1.0`,
      `oci:${layout}:0.1.0`,
    );
    const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const m = JSON.parse(
      fs.readFileSync(path.join(layout, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8'),
    ) as { artifactType?: string; layers: { mediaType: string; digest: string }[] };
    expect(m.artifactType).toBe(MediaType.composeArtifact);
    expect(m.layers.map((l) => l.mediaType)).toEqual([MediaType.composeLayer]);
    expect(m.layers[0]!.digest).toBe((await hashFile(file)).digest);
  });
});

describe('what podman and skopeo push, we pull', () => {
  it('an OCI image and a Docker v2 image from podman push; a skopeo copy; every layer verifies', async () => {
    await podman(
      'push',
      '--tls-verify=false',
      'localhost/outpost-interop:1',
      `docker://${reg.host}/podman/oci:1`,
    );
    await podman(
      'push',
      '--tls-verify=false',
      '--format',
      'v2s2',
      'localhost/outpost-interop:1',
      `docker://${reg.host}/podman/docker:1`,
    );
    await skopeo(
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      '--format',
      'oci',
      `docker://${reg.host}/podman/docker:1`,
      `docker://${reg.host}/skopeo/copied:1`,
    );
    for (const [repo, mediaType] of [
      ['podman/oci', MediaType.ociManifest],
      ['podman/docker', MediaType.dockerManifest],
      ['skopeo/copied', MediaType.ociManifest],
    ] as const) {
      const r = await client.resolve(`${reg.host}/${repo}:1`);
      expect(r.mediaType).toBe(mediaType);
      const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repo}:1`);
      expect(r.digest).toBe(digestOf(raw));
      for (const layer of r.manifest.layers) {
        const dest = path.join(tmp, 'pulled', repo, layer.digest.slice(7));
        const got = await client.fetchBlob(`${reg.host}/${repo}`, layer, { dest });
        expect((await hashFile(got.path)).digest).toBe(layer.digest);
      }
      const info = await client.inspect(`${reg.host}/${repo}:1`);
      expect(info.kind).toBe('image');
      expect(info.config?.content).toMatchObject({ os: 'linux' });
    }
  });

  it('a manifest list from podman manifest push: resolved to this platform, refused for another', async () => {
    await podman('manifest', 'create', 'localhost/outpost-interop-list:1');
    await podman(
      'manifest',
      'add',
      'localhost/outpost-interop-list:1',
      'containers-storage:localhost/outpost-interop:1',
    );
    await podman(
      'manifest',
      'push',
      '--all',
      '--tls-verify=false',
      'localhost/outpost-interop-list:1',
      `docker://${reg.host}/podman/list:1`,
    );
    const info = await client.inspect(`${reg.host}/podman/list:1`);
    expect(info.kind).toBe('index');
    expect(info.manifests).toHaveLength(1);
    const r = await client.resolve(`${reg.host}/podman/list:1`);
    expect(r.index?.digest).toBe(info.digest);
    expect(r.digest).toBe(info.manifests![0]!.digest);
    let err: unknown;
    try {
      await client.resolve(`${reg.host}/podman/list:1`, {
        platform: { os: 'linux', architecture: 'riscv64' },
      });
    } catch (e) {
      err = e;
    }
    expect(isOutpostError(err, 'oci/no-matching-platform')).toBe(true);
    expect((err as Error).message).toMatch(/no manifest for linux\/riscv64 in the index \(it has linux\//);
  });
});
