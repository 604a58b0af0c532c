// The Helm adapter. No Kubernetes cluster and no helm binary exist on these machines (neither is in
// Debian 12; test/helpers/podman.ts), so these tests cover what can be checked without one: the
// argument vectors built for helm, the values built from the Margo parameters, and the adapter's
// handling of helm's answers and failures, with a stand-in `helm` executable that records its
// arguments and replies as a scenario says. Nothing here talks to a real cluster.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../lib/log/index.js';
import { computeSpecHash } from '../names.js';
import type { WorkloadSpec } from '../types.js';
import { durationMs, HelmAdapter } from './helm-adapter.js';
import { helmStatusArgs, helmUninstallArgs, helmUpgradeArgs } from './helm-args.js';
import { parseValuesPath, valuesFromPaths } from './helm-values.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-helm-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('helm argument vectors', () => {
  const base = { release: 'web-1a2b3c4d', chart: 'oci://127.0.0.1:5000/charts/web', namespace: 'shop-floor' };
  it.each([
    [
      'OCI chart, values file, wait and Margo timeout',
      { ...base, version: '1.2.3+build.5', wait: true, timeout: '8m30s', values: { file: '/s/v.json' } },
      [
        'upgrade',
        '--install',
        'web-1a2b3c4d',
        'oci://127.0.0.1:5000/charts/web',
        '--version',
        '1.2.3+build.5',
        '--namespace',
        'shop-floor',
        '--create-namespace',
        '--values',
        '/s/v.json',
        '--wait',
        '--timeout',
        '8m30s',
      ],
    ],
    [
      'no wait, no timeout',
      { ...base, version: '2.0.0', wait: false, values: { file: '/v.json' } },
      [
        'upgrade',
        '--install',
        'web-1a2b3c4d',
        'oci://127.0.0.1:5000/charts/web',
        '--version',
        '2.0.0',
        '--namespace',
        'shop-floor',
        '--create-namespace',
        '--values',
        '/v.json',
      ],
    ],
    [
      '--set-json per dot path, in order',
      {
        ...base,
        wait: false,
        values: { setJson: { 'image.tag': '1.0', replicas: 2, 'a\\.b': { c: true }, 'list[0]': 'x,y' } },
      },
      [
        'upgrade',
        '--install',
        'web-1a2b3c4d',
        'oci://127.0.0.1:5000/charts/web',
        '--namespace',
        'shop-floor',
        '--create-namespace',
        '--set-json',
        'image.tag="1.0"',
        '--set-json',
        'replicas=2',
        '--set-json',
        'a\\.b={"c":true}',
        '--set-json',
        'list[0]="x,y"',
      ],
    ],
    [
      'plain-HTTP registry, connection and description',
      {
        ...base,
        version: '1.0.0',
        wait: true,
        values: { file: 'v' },
        plainHttp: true,
        insecureSkipTlsVerify: true,
        description: 'outpost d c 1.0.0',
        kubeconfig: '/k',
        kubeContext: 'edge',
      },
      [
        'upgrade',
        '--install',
        'web-1a2b3c4d',
        'oci://127.0.0.1:5000/charts/web',
        '--version',
        '1.0.0',
        '--namespace',
        'shop-floor',
        '--create-namespace',
        '--values',
        'v',
        '--wait',
        '--plain-http',
        '--insecure-skip-tls-verify',
        '--description',
        'outpost d c 1.0.0',
        '--kubeconfig',
        '/k',
        '--kube-context',
        'edge',
      ],
    ],
  ])('%s', (_name, input, expected) => {
    expect(helmUpgradeArgs(input)).toEqual(expected);
  });

  it('uninstall and status', () => {
    expect(helmUninstallArgs({ release: 'r', namespace: 'ns', wait: true, timeout: '300s' })).toEqual([
      'uninstall',
      'r',
      '--namespace',
      'ns',
      '--wait',
      '--timeout',
      '300s',
    ]);
    expect(helmStatusArgs({ release: 'r', namespace: 'ns', kubeContext: 'c' })).toEqual([
      'status',
      'r',
      '--namespace',
      'ns',
      '--output',
      'json',
      '--kube-context',
      'c',
    ]);
  });

  it.each([
    [{ ...base, namespace: 'Bad_NS' }, /namespace "Bad_NS" is not a valid DNS-1123 label/],
    [{ ...base, release: 'x'.repeat(54) }, /release name .* is not valid/],
    [{ ...base, timeout: '8 minutes' }, /timeout "8 minutes" is not a duration/],
    [{ ...base, chart: '--post-renderer=/bin/evil' }, /may not start with "-"/],
  ])('refuses %o', (input, message) => {
    expect(() => helmUpgradeArgs({ wait: false, values: { file: 'v' }, ...input })).toThrow(message);
  });
});

describe('values from dot paths', () => {
  it.each([
    ['a.b.c', ['a', 'b', 'c']],
    ['image\\.registry.host', ['image.registry', 'host']],
    ['list[0].name', ['list', 0, 'name']],
    ['m[1][2]', ['m', 1, 2]],
  ])('parses %s', (p, segs) => expect(parseValuesPath(p)).toEqual(segs));

  it.each(['', 'a..b', '.a', 'a.', '[0]', 'a[x]', 'a[0]b'])('refuses %o', (p) =>
    expect(() => parseValuesPath(p)).toThrow(/helm value path/),
  );

  it('nests values and lists', () => {
    expect(
      valuesFromPaths({
        'image.tag': '1.0',
        'image.pullPolicy': 'IfNotPresent',
        'env[1].name': 'B',
        'env[0].name': 'A',
        'a\\.b': 1,
        flags: [true],
      }),
    ).toEqual({
      image: { tag: '1.0', pullPolicy: 'IfNotPresent' },
      env: [{ name: 'A' }, { name: 'B' }],
      'a.b': 1,
      flags: [true],
    });
  });

  it('refuses paths that clash', () => {
    expect(() => valuesFromPaths({ a: 1, 'a.b': 2 })).toThrow(/clashes/);
    expect(() => valuesFromPaths({ 'a.b': 2, a: 1 })).toThrow(/set twice or clashes/);
    expect(() => valuesFromPaths({ 'a.b': 1, 'a[0]': 2 })).toThrow(/clashes/);
  });

  it('parses Margo timeouts', () => {
    expect(durationMs('8m30s')).toBe(510_000);
    expect(durationMs('1h')).toBe(3_600_000);
  });
});

/**
 * A stand-in `helm`: appends `{argv, values}` (the values file's content, read before the adapter
 * deletes it) to calls.jsonl and replies per scenario.json: `{ "<subcommand>": {stdout, stderr, code} }`.
 */
function fakeHelm(dir: string): {
  bin: string;
  env: NodeJS.ProcessEnv;
  calls(): { argv: string[]; values?: unknown }[];
  reply(s: Record<string, { stdout?: string; stderr?: string; code?: number }>): void;
} {
  const bin = path.join(dir, 'helm');
  fs.writeFileSync(
    bin,
    `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.FAKE_HELM_DIR;
const argv = process.argv.slice(2);
const i = argv.indexOf('--values');
const values = i >= 0 ? JSON.parse(fs.readFileSync(argv[i + 1], 'utf8')) : undefined;
fs.appendFileSync(path.join(dir, 'calls.jsonl'), JSON.stringify({ argv, values }) + '\\n');
let scenario = {};
try { scenario = JSON.parse(fs.readFileSync(path.join(dir, 'scenario.json'), 'utf8')); } catch {}
const r = scenario[argv[0]] || { stdout: '', code: 0 };
process.stdout.write(r.stdout || '');
process.stderr.write(r.stderr || '');
process.exit(r.code || 0);
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"commonjs"}');
  return {
    bin,
    env: { ...process.env, FAKE_HELM_DIR: dir },
    calls: () => {
      try {
        return fs
          .readFileSync(path.join(dir, 'calls.jsonl'), 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
      } catch {
        return [];
      }
    },
    reply: (s) => fs.writeFileSync(path.join(dir, 'scenario.json'), JSON.stringify(s)),
  };
}

const deployed = (desc = 'Install complete') =>
  JSON.stringify({
    name: 'r',
    info: { status: 'deployed', description: desc, last_deployed: '2026-01-01T00:00:00Z' },
  });

function spec(over: Partial<WorkloadSpec> = {}): WorkloadSpec {
  const base: Omit<WorkloadSpec, 'specHash'> = {
    workloadId: '3c9d2e10-0000-4000-8000-000000000001.inference',
    deploymentId: '3c9d2e10-0000-4000-8000-000000000001',
    component: 'inference',
    revision: '1.4.0_edge.2',
    artifact: { image: 'oci://127.0.0.1:5000/charts/inference' },
    env: {},
    helm: {
      chartRef: 'oci://127.0.0.1:5000/charts/inference',
      version: '1.4.0_edge.2',
      values: { 'model.name': 'yolo', 'resources.limits.memory': '512Mi', replicaCount: 1 },
      namespace: 'vision',
      wait: true,
      timeout: '5m0s',
    },
    ...over,
  };
  return { ...base, specHash: computeSpecHash(base) };
}

describe('HelmAdapter (stand-in helm; no cluster here)', () => {
  let n = 0;
  function setup(extra: Partial<ConstructorParameters<typeof HelmAdapter>[0]> = {}) {
    const dir = path.join(tmp, `case-${++n}`);
    fs.mkdirSync(dir);
    const fake = fakeHelm(dir);
    const adapter = new HelmAdapter({
      stateDir: path.join(dir, 'state'),
      logger: silentLogger(),
      binary: fake.bin,
      env: fake.env,
      plainHttpRegistries: ['127.0.0.1:5000'],
      ...extra,
    });
    return { fake, adapter, dir };
  }

  it('reports helm as missing when it is not on PATH (as on these machines)', async () => {
    const a = new HelmAdapter({
      stateDir: tmp,
      logger: silentLogger(),
      env: { PATH: path.join(tmp, 'empty-path') },
    });
    expect(await a.probe()).toMatchObject({
      available: false,
      detail: expect.stringContaining('helm was not found'),
    });
  });

  it('installs with upgrade --install, values in a private file that is deleted afterwards', async () => {
    const { fake, adapter, dir } = setup();
    fake.reply({
      version: { stdout: 'v3.15.2+g1a500d5\n' },
      list: { code: 1, stderr: 'Error: Kubernetes cluster unreachable\n' },
    });
    expect(await adapter.probe()).toEqual({
      available: false,
      version: '3.15.2',
      detail:
        'helm 3.15.2 is installed but no Kubernetes cluster is reachable: Error: Kubernetes cluster unreachable',
    });
    fake.reply({
      version: { stdout: 'v3.15.2+g1a500d5\n' },
      list: { stdout: '[]' },
      status: { stdout: deployed() },
    });
    expect(await adapter.probe()).toEqual({ available: true, version: '3.15.2' });
    const w = spec();
    const events: string[] = [];
    const s = await adapter.apply(w, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['installing', 'started']);
    expect(s).toMatchObject({
      state: 'running',
      specHash: w.specHash,
      handle: adapter.releaseName(w.workloadId),
      kind: 'helm',
    });
    const install = fake.calls().find((c) => c.argv[0] === 'upgrade')!;
    const release = adapter.releaseName(w.workloadId);
    expect(release.length).toBeLessThanOrEqual(53);
    const valuesFile = install.argv[install.argv.indexOf('--values') + 1]!;
    expect(install.argv).toEqual([
      'upgrade',
      '--install',
      release,
      'oci://127.0.0.1:5000/charts/inference',
      '--version',
      '1.4.0+edge.2',
      '--namespace',
      'vision',
      '--create-namespace',
      '--values',
      valuesFile,
      '--wait',
      '--timeout',
      '5m0s',
      '--plain-http',
      '--description',
      `outpost ${w.deploymentId} inference 1.4.0_edge.2`,
    ]);
    expect(install.values).toEqual({
      model: { name: 'yolo' },
      resources: { limits: { memory: '512Mi' } },
      replicaCount: 1,
    });
    expect(fs.existsSync(valuesFile)).toBe(false);
    expect(fs.readdirSync(path.join(dir, 'state')).filter((f) => f.startsWith('.values'))).toEqual([]);

    // Same spec hash and the release is deployed: nothing is upgraded.
    const before = fake.calls().filter((c) => c.argv[0] === 'upgrade').length;
    const events2: string[] = [];
    await adapter.apply(w, { onEvent: (e) => events2.push(e.type) });
    expect(events2).toEqual(['unchanged']);
    expect(fake.calls().filter((c) => c.argv[0] === 'upgrade')).toHaveLength(before);
    // After an agent restart a new adapter lists the release from its state.
    const again = new HelmAdapter({
      stateDir: path.join(dir, 'state'),
      logger: silentLogger(),
      binary: fake.bin,
      env: fake.env,
    });
    expect(await again.list()).toEqual([
      expect.objectContaining({ workloadId: w.workloadId, state: 'running' }),
    ]);
  });

  it("surfaces the last line of helm's stderr and records nothing on failure", async () => {
    const { fake, adapter, dir } = setup();
    fake.reply({
      upgrade: {
        code: 1,
        stderr:
          'Release "x" does not exist. Installing it now.\nError: INSTALLATION FAILED: Kubernetes cluster unreachable: Get "https://127.0.0.1:6443/version": dial tcp 127.0.0.1:6443: connect: connection refused\n',
      },
    });
    const w = spec();
    const err = await adapter.apply(w).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'runtime/command-failed',
      message: `helm upgrade --install ${adapter.releaseName(w.workloadId)} failed: Error: INSTALLATION FAILED: Kubernetes cluster unreachable: Get "https://127.0.0.1:6443/version": dial tcp 127.0.0.1:6443: connect: connection refused`,
    });
    expect(await adapter.status(w.workloadId)).toMatchObject({ state: 'removed' });
    expect(fs.readdirSync(path.join(dir, 'state'))).toEqual([]);
  });

  it('passes values as --set-json when configured', async () => {
    const { fake, adapter } = setup({ valuesMode: 'set-json' });
    fake.reply({ status: { stdout: deployed() } });
    await adapter.apply(spec());
    const install = fake.calls().find((c) => c.argv[0] === 'upgrade')!;
    expect(install.argv).not.toContain('--values');
    expect(install.argv.filter((_, i, a) => a[i - 1] === '--set-json')).toEqual([
      'model.name="yolo"',
      'resources.limits.memory="512Mi"',
      'replicaCount=1',
    ]);
  });

  it('maps helm release states', async () => {
    const { fake, adapter } = setup();
    fake.reply({ status: { stdout: deployed() } });
    const w = spec();
    await adapter.apply(w);
    for (const [status, state] of [
      ['failed', 'failed'],
      ['pending-upgrade', 'installing'],
      ['superseded', 'unknown'],
    ] as const) {
      fake.reply({
        status: { stdout: JSON.stringify({ info: { status, description: `it is ${status}` } }) },
      });
      expect(await adapter.status(w.workloadId)).toMatchObject({ state });
    }
    fake.reply({ status: { code: 1, stderr: 'Error: release: not found\n' } });
    expect(await adapter.status(w.workloadId)).toMatchObject({
      state: 'failed',
      message: expect.stringContaining('is not installed'),
    });
    fake.reply({ status: { code: 1, stderr: 'Error: Kubernetes cluster unreachable\n' } });
    expect(await adapter.status(w.workloadId)).toMatchObject({
      state: 'unknown',
      message: 'helm status failed: Error: Kubernetes cluster unreachable',
    });
  });

  it('upgrades when the spec changes and a failed release is not left as is', async () => {
    const { fake, adapter } = setup();
    fake.reply({ status: { stdout: deployed() } });
    const w = spec();
    await adapter.apply(w);
    const w2 = spec({ helm: { ...w.helm!, values: { ...w.helm!.values, replicaCount: 2 } } });
    const events: string[] = [];
    await adapter.apply(w2, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['replacing', 'started']);
    // Same spec, but helm says the release failed: apply upgrades again.
    fake.reply({ status: { stdout: JSON.stringify({ info: { status: 'failed' } }) } });
    const events2: string[] = [];
    await adapter.apply(w2, { onEvent: (e) => events2.push(e.type) }).catch(() => undefined);
    expect(events2[0]).toBe('replacing');
    expect(fake.calls().filter((c) => c.argv[0] === 'upgrade')).toHaveLength(3);
  });

  it('uninstalls on removal, tolerating a release that is already gone', async () => {
    const { fake, adapter } = setup();
    fake.reply({ status: { stdout: deployed() } });
    const w = spec();
    await adapter.apply(w);
    fake.reply({
      uninstall: { code: 1, stderr: 'Error: uninstall: Release not loaded: x: release: not found\n' },
    });
    const events: string[] = [];
    await adapter.remove(w.workloadId, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['removing', 'removed']);
    const un = fake.calls().find((c) => c.argv[0] === 'uninstall')!;
    expect(un.argv).toEqual([
      'uninstall',
      adapter.releaseName(w.workloadId),
      '--namespace',
      'vision',
      '--wait',
      '--timeout',
      '300s',
    ]);
    expect(await adapter.status(w.workloadId)).toMatchObject({ state: 'removed' });
    await adapter.remove(w.workloadId); // nothing left: no helm call
    expect(fake.calls().filter((c) => c.argv[0] === 'uninstall')).toHaveLength(1);
  });

  it('refuses bad specs before running helm', async () => {
    const { fake, adapter } = setup();
    await expect(adapter.apply(spec({ helm: undefined }))).rejects.toMatchObject({
      code: 'runtime/invalid-spec',
    });
    await expect(adapter.apply(spec({ helm: { ...spec().helm!, version: 'v1' } }))).rejects.toThrow(
      /not a SemVer revision/,
    );
    await expect(
      adapter.apply(spec({ helm: { ...spec().helm!, values: { a: 1, 'a.b': 2 } } })),
    ).rejects.toThrow(/clashes/);
    await expect(adapter.apply(spec({ helm: { ...spec().helm!, namespace: 'NOPE' } }))).rejects.toThrow(
      /DNS-1123/,
    );
    expect(fake.calls()).toEqual([]);
  });
});
