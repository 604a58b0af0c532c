// Unit tests of the shared parts: names, spec hashes, profile → runtime, command runner, runner lookup,
// and the probe (against this machine's real podman / podman-compose, and tools known to be absent).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPodmanEnv, type PodmanTestEnv } from '../../test/helpers/podman.js';
import { lastLine, runCommand } from './exec.js';
import { computeSpecHash, safeName } from './names.js';
import { capabilitiesFromProbe, probeRuntimes, type RuntimeProbe } from './probe.js';
import { runtimeForProfile } from './select-runtime.js';
import type { WorkloadSpec } from './types.js';
import { locateWasmRunner } from './wasm/locate-runner.js';

let tmp: string;
let pe: PodmanTestEnv;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-runtimes-'));
  pe = createPodmanEnv('outpost-probe-');
});
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await pe.cleanup();
});

describe('safeName', () => {
  it('is lowercase, dash-separated, hash-suffixed and bounded', () => {
    const id = '0F9A3C1E-1111-4c2b-9a7e-000000000001.Web_Server';
    const n = safeName(id, 'outpost-', 100);
    expect(n).toMatch(/^outpost-0f9a3c1e-1111-4c2b-9a7e-000000000001-web-server-[0-9a-f]{8}$/);
    expect(safeName(id, 'outpost-', 100)).toBe(n);
    const short = safeName(id, 'outpost-');
    expect(short).toHaveLength(63);
    expect(short).toMatch(/^outpost-0f9a3c1e-1111-4c2b-9a7e-[a-z0-9-]*[a-z0-9]-[0-9a-f]{8}$/);
    expect(short.slice(-8)).toBe(n.slice(-8));
    expect(safeName('a'.repeat(300), '', 53)).toHaveLength(53);
    expect(safeName('...', '')).toMatch(/^w-[0-9a-f]{8}$/);
  });

  it('keeps ids that sanitise alike apart', () => {
    expect(safeName('dep.web')).not.toBe(safeName('dep-web'));
  });
});

describe('computeSpecHash', () => {
  const base: Omit<WorkloadSpec, 'specHash'> = {
    workloadId: 'd.c',
    deploymentId: 'd',
    component: 'c',
    revision: '1.0.0',
    artifact: { path: '/a/module.wasm', mediaType: 'application/wasm', digest: `sha256:${'1'.repeat(64)}` },
    env: { A: '1', B: '2' },
  };
  it('ignores where the artifact lies and the order of keys, but not what defines the workload', () => {
    const h = computeSpecHash(base);
    expect(h).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(computeSpecHash({ ...base, artifact: { ...base.artifact, path: '/elsewhere/m.wasm' } })).toBe(h);
    expect(computeSpecHash({ ...base, env: { B: '2', A: '1' } })).toBe(h);
    expect(computeSpecHash({ ...base, env: { A: '1', B: '3' } })).not.toBe(h);
    expect(
      computeSpecHash({ ...base, artifact: { ...base.artifact, digest: `sha256:${'2'.repeat(64)}` } }),
    ).not.toBe(h);
    expect(computeSpecHash({ ...base, limits: { memoryBytes: 1 << 20 } })).not.toBe(h);
  });
});

describe('runtimeForProfile', () => {
  it.each([
    [{ type: 'compose' }, 'compose'],
    [{ type: 'helm' }, 'helm'],
    [{ type: 'custom', extensions: { 'x-outpost-extensions': { runtime: 'wasm' } } }, 'wasm'],
    [{ type: 'custom', extensions: { 'x-outpost-extensions': { runtime: 'container' } } }, 'container'],
  ])('%o → %s', (profile, kind) => expect(runtimeForProfile(profile)).toEqual({ kind }));

  it.each([
    [{ type: 'custom' }, /needs x-outpost-extensions.runtime/],
    [
      { type: 'custom', extensions: { 'x-outpost-extensions': { runtime: 'jvm' } } },
      /unknown x-outpost-extensions.runtime "jvm"/,
    ],
    [{ type: 'custom', extensions: { 'x-outpost-extensions': { runtime: 'ocre' } } }, /microcontroller/],
    [{ type: 'kubernetes' }, /not supported/],
  ])('%o has no adapter', (profile, reason) => {
    const r = runtimeForProfile(profile);
    expect(r.kind).toBeUndefined();
    expect((r as { reason: string }).reason).toMatch(reason);
  });
});

describe('runCommand', () => {
  it('returns exit code and output, never through a shell', async () => {
    const r = await runCommand('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const noShell = await runCommand('echo', ['$(id)', ';', 'ls']);
    expect(noShell.stdout).toBe('$(id) ; ls\n');
  });

  it('says when a program is missing, too slow, or cancelled', async () => {
    await expect(runCommand('outpost-no-such-program', [])).rejects.toMatchObject({
      code: 'runtime/unavailable',
    });
    await expect(runCommand('sleep', ['5'], { timeoutMs: 100 })).rejects.toMatchObject({ code: 'timeout' });
    const ac = new AbortController();
    const p = runCommand('sleep', ['5'], { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('lastLine picks the last non-empty line', () => {
    expect(lastLine('a\n\nError: boom\n\n')).toBe('Error: boom');
    expect(lastLine('')).toBe('');
  });
});

describe('locateWasmRunner', () => {
  it('finds the runner next to the bundle, one folder up (chunks), or in dist/cli from sources', () => {
    const root = path.join(tmp, 'layout');
    fs.mkdirSync(path.join(root, 'dist/cli/chunks'), { recursive: true });
    fs.mkdirSync(path.join(root, 'dist/electron'), { recursive: true });
    fs.mkdirSync(path.join(root, 'agents/runtimes/wasm'), { recursive: true });
    const runner = path.join(root, 'dist/cli/wasm-runner.js');
    expect(locateWasmRunner(pathToFileURL(path.join(root, 'dist/cli/main-entry.js')).href)).toBeUndefined();
    fs.writeFileSync(runner, '');
    for (const from of [
      'dist/cli/main-entry.js',
      'dist/cli/chunks/chunk-x.js',
      'dist/electron/main.js',
      'agents/runtimes/wasm/locate-runner.ts',
    ]) {
      expect(locateWasmRunner(pathToFileURL(path.join(root, from)).href)).toBe(runner);
    }
  });
});

describe('probeRuntimes (this machine)', () => {
  it('finds podman and podman-compose usable, and says why absent tools are not', async () => {
    const runner = path.join(tmp, 'wasm-runner.js');
    fs.writeFileSync(runner, '');
    const p = await probeRuntimes({
      env: pe.env,
      binaries: {
        helm: path.join(tmp, 'no-helm'),
        nerdctl: path.join(tmp, 'no-nerdctl'),
        ctr: path.join(tmp, 'no-ctr'),
      },
      dockerSocket: path.join(tmp, 'no-docker.sock'),
      wasmRunnerPath: runner,
    });
    expect(p.podman).toMatchObject({ available: true, version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(p.podman.detail).toContain('runc');
    expect(p.podmanCompose).toMatchObject({
      available: true,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(p.wasm).toMatchObject({ available: true });
    expect(p.helm).toMatchObject({ available: false, detail: expect.stringContaining('not found') });
    expect(p.containerd).toMatchObject({ available: false });
    expect(p.dockerApi).toMatchObject({
      available: false,
      detail: expect.stringContaining('no Docker API socket'),
    });
    for (const r of Object.values(p)) expect(typeof r.available).toBe('boolean');
  });
});

describe('capabilitiesFromProbe', () => {
  const off = { available: false };
  const on = { available: true };
  const probe = (over: Partial<RuntimeProbe>): RuntimeProbe => ({
    podman: off,
    docker: off,
    dockerApi: off,
    containerd: off,
    podmanCompose: off,
    dockerCompose: off,
    helm: off,
    wasm: off,
    ...over,
  });
  it.each([
    [probe({}), { supportedDeploymentTypes: [], supportedRuntimes: [], extensionRuntimes: [] }],
    [
      probe({ podman: on, podmanCompose: on, wasm: on }),
      {
        supportedDeploymentTypes: ['compose', 'custom'],
        supportedRuntimes: ['oci', 'custom'],
        extensionRuntimes: ['wasm'],
      },
    ],
    [
      probe({ podman: on, dockerCompose: on }),
      { supportedDeploymentTypes: ['custom'], supportedRuntimes: ['oci'], extensionRuntimes: [] },
    ],
    [
      probe({ docker: on, dockerCompose: on, helm: on }),
      {
        supportedDeploymentTypes: ['compose', 'helm', 'custom'],
        supportedRuntimes: ['oci'],
        extensionRuntimes: [],
      },
    ],
  ])('%#', (p, expected) => expect(capabilitiesFromProbe(p)).toEqual(expected));
});
