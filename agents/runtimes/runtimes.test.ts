// Unit tests of the shared parts: names, spec hashes, the command runner and the runner lookup (the
// registry, the profile → runtime choice and the probe are in registry.test.ts and runtime-set.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastLine, runCommand } from './exec.js';
import { computeSpecHash, safeName } from './names.js';
import type { WorkloadSpec } from './types.js';
import { locateWasmRunner } from './wasm/locate-runner.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-runtimes-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
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
