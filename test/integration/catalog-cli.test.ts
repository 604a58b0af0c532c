import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { edgectl, startServer, type ServerProcess } from '../helpers/cli.js';
import { tempHome } from '../helpers/home.js';
import { startGitServer, type GitServer } from '../helpers/git-server.js';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

const margo = (version: string) => `id: demo-app
metadata:
  name: Demo App
  version: ${version}
  catalog:
    application: { icon: resources/icon.png, tagline: A demo }
    organization: [{ name: Acme Corp, site: "https://acme.example" }]
deploymentProfiles:
  - type: compose
    id: demo-compose
    components:
      - name: web
        properties: { repository: "oci://registry.local/demo", revision: ${version} }
parameters:
  port:
    value: 8080
    targets: [{ pointer: PORT, components: [web] }]
`;

describe('edgectl co: App Store, Device Store, sites and nodes', () => {
  const { home, cleanup } = tempHome();
  let server: ServerProcess;
  const dir = path.join(home, 'pkg');
  const run = (...args: string[]) => edgectl([...args, '--home', home]);

  beforeAll(async () => {
    server = await startServer(home);
    fs.mkdirSync(path.join(dir, 'resources'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'resources', 'icon.png'), PNG);
  });
  afterAll(async () => {
    await server?.stop();
    cleanup();
  });

  it('adds an app from a folder (with its icon) and lists it in a numbered table', async () => {
    fs.writeFileSync(path.join(dir, 'margo.yaml'), margo('1.0.0'));
    const add = await run('co', 'add', 'app', '--name', 'demo-app', '--artifact', dir);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^added: demo-app version 1\.0\.0 \(sha256:/);
    fs.writeFileSync(path.join(dir, 'margo.yaml'), margo('1.1.0'));
    expect((await run('co', 'add', 'app', '--artifact', path.join(dir, 'margo.yaml'))).code).toBe(0);
    const list = await run('co', 'list', 'apps');
    expect(list.stdout.split('\n')[0]).toMatch(/^#\s+NAME\s+VERSION\s+VENDOR\/SITE\s+ID$/);
    expect(list.stdout.split('\n')[1]).toMatch(
      /^1\s+Demo App\s+1\.1\.0 \(\+1\)\s+Acme Corp \/ https:\/\/acme\.example\s+demo-app$/,
    );
    const json = JSON.parse((await run('co', 'list', 'apps', '-o', 'json')).stdout) as {
      id: string;
      versions: string[];
      icon: string;
    }[];
    expect(json[0]).toMatchObject({ id: 'demo-app', versions: ['1.0.0', '1.1.0'] });
    expect(json[0]!.icon).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
    const show = await run('co', 'show', 'app', 'demo-app', '--version', '1.0.0');
    expect(show.stdout).toContain('demo-compose (compose)');
    expect(show.stdout).toMatch(/port = 8080 +-> web:PORT/);
    const original = await run('co', 'show', 'app', 'demo-app', '--version', '1.0.0', '--original');
    expect(original.stdout).toBe(margo('1.0.0'));
  });

  it("runs the seed's command as written on the Margo example (older shape, metadata.id)", async () => {
    const example = 'lib/margo/testdata/examples/application-description-example-002-helm-and-compose.yaml';
    const add = await run(
      'co',
      'add',
      'app',
      '--name',
      'com-northstartida-digitron-orchestrator',
      '--artifact',
      path.resolve(example),
    );
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^added: com-northstartida-digitron-orchestrator version 1\.2\.1 /);
    expect(add.stdout).toContain('warning: metadata.id: ');
    const list = await run('co', 'list', 'apps', '-o', 'yaml');
    expect(list.stdout).toContain('id: com-northstartida-digitron-orchestrator');
    // --name must be the description's id
    const other = await run('co', 'add', 'app', '--name', 'other-app', '--artifact', path.resolve(example));
    expect(other.code).toBe(2);
    expect(other.stderr.split('\n')[0]).toContain(
      'the application id is "com-northstartida-digitron-orchestrator", not "other-app"',
    );
    expect((await run('co', 'remove', 'app', 'com-northstartida-digitron-orchestrator')).code).toBe(0);
  });

  it('says what is wrong, where, in one line plus the field list, for a bad description', async () => {
    const bad = path.join(home, 'bad.yaml');
    fs.writeFileSync(bad, margo('1.2.0').replace('revision: 1.2.0', 'revision: v1.2'));
    const r = await run('co', 'add', 'app', '--artifact', bad);
    expect(r.code).toBe(2); // bad input (it was 1: "otherwise")
    expect(r.stdout).toBe('');
    const first = r.stderr.split('\n')[0]!;
    expect(first).toMatch(
      /^edgectl: bad\.yaml: .*deploymentProfiles\[0\]\.components\[0\]\.properties\.revision/,
    );
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses a 50 MB file before uploading it', async () => {
    const huge = path.join(home, 'huge.yaml');
    fs.writeFileSync(huge, Buffer.alloc(50 * 1024 * 1024, 0x61));
    const r = await run('co', 'add', 'app', '--artifact', huge);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(`edgectl: ${huge} is 50.0 MiB; files over 8.0 MiB are not uploaded\n`);
  });

  it('says so when the path does not exist or holds no margo.yaml', async () => {
    expect((await run('co', 'add', 'app', '--artifact', path.join(home, 'nope'))).stderr).toBe(
      `edgectl: ${path.join(home, 'nope')}: no such file or folder\n`,
    );
    const empty = path.join(home, 'empty');
    fs.mkdirSync(empty);
    expect((await run('co', 'add', 'app', '--artifact', empty)).stderr).toBe(
      `edgectl: ${empty} holds no margo.yaml\n`,
    );
    // a git ref means nothing for a local folder: refused rather than ignored
    const withRef = await run('co', 'add', 'app', '--artifact', dir, '--ref', 'v2');
    expect(withRef.code).toBe(2);
    expect(withRef.stderr).toBe(
      `edgectl: --ref and --path apply to a git URL; ${dir} is a local path (give margo.yaml or its folder)\n`,
    );
  });

  it('registers a device model, a site and nodes, and shows the same data the API has', async () => {
    const modelFile = path.join(home, 'g12.yaml');
    fs.writeFileSync(
      modelFile,
      `id: ecs-g12\nvendor: EdgeCircuit Systems\nmodelNumber: EF1.234.32\nruntimes: [oci, custom, wasm]\ndeploymentTypes: [compose, custom]\nicon: g12.png\ndocumentation: https://edgecircuit.example/g12\ncapabilities:\n  properties:\n    cpus: [{ cores: 4, architecture: amd64 }]\n    memory: 16Gi\n`,
    );
    fs.writeFileSync(path.join(home, 'g12.png'), PNG);
    const add = await run('co', 'add', 'device-model', '--file', modelFile);
    expect(add.stdout).toBe('added device model ecs-g12: EdgeCircuit Systems EF1.234.32\n');
    const models = JSON.parse((await run('co', 'list', 'device-models', '-o', 'json')).stdout) as {
      id: string;
      icon: string;
      runtimes: string[];
    }[];
    expect(models[0]).toMatchObject({ id: 'ecs-g12', runtimes: ['oci', 'custom', 'wasm'] });
    expect(models[0]!.icon).toContain('data:image/png;base64,');

    expect(
      (await run('co', 'add', 'site', 'plant-1', '--name', 'Plant 1', '--label', 'region=eu')).code,
    ).toBe(0);
    expect(
      (
        await run(
          'co',
          'add',
          'node',
          'press-01',
          '--site',
          'plant-1',
          '--model',
          'ecs-g12',
          '--label',
          'line=a',
        )
      ).code,
    ).toBe(0);
    expect((await run('co', 'add', 'node', 'press-02', '--site', 'plant-1')).code).toBe(0);
    expect((await run('co', 'cordon', 'press-02')).stdout).toBe('press-02 cordoned\n');
    expect((await run('co', 'label', 'press-02', 'line=b')).code).toBe(0);

    const nodes = await run('co', 'list', 'nodes', '--site', 'plant-1');
    const lines = nodes.stdout.split('\n');
    expect(lines[1]).toMatch(
      /^1\s+press-01\s+plant-1\s+registered\s+unknown \(never seen\)\s+ecs-g12\s+no\s+-\s+line=a$/,
    );
    expect(lines[2]).toMatch(
      /^2\s+press-02\s+plant-1\s+registered\s+unknown \(never seen\)\s+-\s+yes\s+-\s+line=b$/,
    );
    const selected = JSON.parse(
      (await run('co', 'list', 'nodes', '--selector', 'line=b', '-o', 'json')).stdout,
    ) as { nodes: { name: string }[] };
    expect(selected.nodes.map((n) => n.name)).toEqual(['press-02']);
    const sites = await run('co', 'list', 'sites');
    expect(sites.stdout.split('\n')[1]).toMatch(
      /^1\s+plant-1\s+Plant 1\s+this server\s+connected\s+2\s+region=eu$/,
    );

    // a model in use cannot be removed; a site with nodes cannot be removed
    expect((await run('co', 'remove', 'device-model', 'ecs-g12')).stderr).toBe(
      'edgectl: device model "ecs-g12" is used by 1 node\n',
    );
    expect((await run('co', 'remove', 'site', 'plant-1')).stderr).toBe(
      'edgectl: site "plant-1" still has 2 nodes; remove them first\n',
    );
  });

  it('registers the remote Local Orchestrator of a site and lists it', async () => {
    expect((await run('co', 'list', 'orchestrators')).stdout).toBe(
      'no remote Local Orchestrators (register one with: edgectl co add orchestrator <id> --site S)\n',
    );
    expect((await run('co', 'add', 'site', 'plant-r', '--remote')).code).toBe(0);
    const add = await run(
      'co',
      'add',
      'orchestrator',
      'lo-r',
      '--site',
      'plant-r',
      '--mmi-url',
      'https://lo-r.example:7443',
    );
    expect(add.stdout).toBe('added orchestrator lo-r for site plant-r\n');
    const list = (await run('co', 'list', 'orchestrators')).stdout.split('\n');
    expect(list[0]).toMatch(/^#\s+ID\s+SITE\s+NAME\s+MMI URL\s+LAST SEEN$/);
    expect(list[1]).toMatch(/^1\s+lo-r\s+plant-r\s+lo-r\s+https:\/\/lo-r\.example:7443\s+never$/);
    const json = JSON.parse((await run('co', 'list', 'orchestrators', '-o', 'json')).stdout) as unknown[];
    expect(json).toMatchObject([{ id: 'lo-r', siteId: 'plant-r', lastSeenAt: null }]);
    const sites = (await run('co', 'list', 'sites')).stdout;
    expect(sites).toMatch(/^\d+\s+plant-r\s+plant-r\s+remote \(lo-r\)\s+connected\s+0\s+-$/m);
    // one LO per site
    const second = await run('co', 'add', 'orchestrator', 'lo-r2', '--site', 'plant-r');
    expect(second.stderr).toBe('edgectl: site "plant-r" is already served by orchestrator "lo-r"\n');
  });

  it('names the line of a broken device model file', async () => {
    const f = path.join(home, 'broken-model.yaml');
    fs.writeFileSync(
      f,
      'id: bad-model\nvendor: Acme\nmodelNumber: X\nruntimes: [oci, quantum]\ndeploymentTypes: [compose]\ncapabilities: { properties: {} }\n',
    );
    const r = await run('co', 'add', 'device-model', '--file', f);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(
      /^edgectl: broken-model\.yaml: 1 problem: runtimes\[1\]: .* \(line 4, column \d+\)$/,
    );
  });
});

describe('edgectl co add app from a git repository', () => {
  const { home, cleanup } = tempHome();
  let server: ServerProcess;
  let git: GitServer;
  const run = (...args: string[]) => edgectl([...args, '--home', home]);

  beforeAll(async () => {
    server = await startServer(home);
    git = await startGitServer();
  });
  afterAll(async () => {
    await git?.close();
    await server?.stop();
    cleanup();
  });

  it('adds by URL, --ref and --path, and shows where each version came from', async () => {
    const url = git.createRepo('apps', { 'demo/margo.yaml': margo('2.0.0'), 'demo/resources/icon.png': PNG });
    const work = path.join(home, 'work');
    await git.git(['clone', '-q', url, work]);
    await git.git(['tag', 'v2'], work);
    fs.writeFileSync(path.join(work, 'demo/margo.yaml'), margo('2.1.0'));
    await git.git(['commit', '-qam', '2.1.0'], work);
    await git.git(['push', '-q', 'origin', 'main', 'v2'], work);

    const latest = await run('co', 'add', 'app', '--name', 'demo-app', '--artifact', url, '--path', 'demo');
    expect(latest.stderr).toBe('');
    expect(latest.stdout).toMatch(/^added: demo-app version 2\.1\.0 /);
    const tagged = await run(
      'co',
      'add',
      'app',
      '--artifact',
      url,
      '--ref',
      'v2',
      '--path',
      'demo/margo.yaml',
      '-o',
      'json',
    );
    const json = JSON.parse(tagged.stdout) as {
      app: { versions: string[]; icon: string };
      version: { version: string; source: { kind: string; location: string; ref: string; path: string } };
    };
    expect(json.version.version).toBe('2.0.0');
    expect(json.version.source).toMatchObject({
      kind: 'git',
      location: url,
      ref: 'v2',
      path: 'demo/margo.yaml',
    });
    expect(json.app.versions).toEqual(['2.0.0', '2.1.0']);
    expect(json.app.icon).toBe(`data:image/png;base64,${PNG.toString('base64')}`);
  });

  it('refuses a repository without margo.yaml, and an unknown ref, in one line', async () => {
    const url = git.createRepo('docs', { 'README.md': '# no app here\n' });
    const none = await run('co', 'add', 'app', '--artifact', url);
    expect(none.code).toBe(5);
    expect(none.stderr).toMatch(
      /^edgectl: no margo\.yaml in http:\/\/127\.0\.0\.1:\d+\/docs\.git \(commit [0-9a-f]{12}\)\n$/,
    );
    // The server reached, the repository not: an ordinary failure (1), not "no server" (3).
    const gone = url.replace(/:\d+\//, `:${await closedPort()}/`);
    const unreachable = await run('co', 'add', 'app', '--artifact', gone);
    expect(unreachable.stderr).toBe(
      `edgectl: cannot reach ${gone}/info/refs?service=git-upload-pack: connection refused\n`,
    );
    expect(unreachable.code).toBe(1);
    const ref = await run('co', 'add', 'app', '--artifact', url, '--ref', 'nope');
    expect(ref.code).toBe(1);
    expect(ref.stderr).toBe(`edgectl: branch or tag "nope" was not found in ${url}\n`);
  });
});

/** A loopback port nothing listens on (it was free a moment ago). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
