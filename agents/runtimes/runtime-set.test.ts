import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../lib/base/index.js';
import { silentLogger } from '../../lib/log/index.js';
import { createPodmanEnv, podmanUsable, type PodmanTestEnv } from '../../test/helpers/podman.js';
import { defaultRuntimesConfig, type RuntimesConfig } from './registry.js';
import { createRuntimeSet } from './runtime-set.js';

// The set the agent runs, built from the registry and agent.yaml, probed against this machine's real
// podman and podman-compose, with tools known to be absent (helm): what is usable is used and labelled,
// what is not says why, and a runtime turned off is not built at all.

const usable = podmanUsable();
let tmp: string;
let pe: PodmanTestEnv;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-runtime-set-'));
  pe = createPodmanEnv('outpost-runtime-set-');
});
afterAll(async () => {
  fs.rmSync(tmp, { recursive: true, force: true });
  await pe.cleanup();
});

function config(over: (c: RuntimesConfig) => void = () => undefined): RuntimesConfig {
  const c = defaultRuntimesConfig();
  const runner = path.join(tmp, 'wasm-runner.js');
  fs.writeFileSync(runner, '');
  c.wasm.runner = runner;
  c.helm.binary = path.join(tmp, 'no-helm');
  c.container.dockerSocket = path.join(tmp, 'no-docker.sock');
  over(c);
  return c;
}

const build = (c: RuntimesConfig) =>
  createRuntimeSet({
    config: c,
    workloadsDir: path.join(tmp, 'workloads'),
    instance: 'set-test',
    logger: silentLogger(),
    clock: systemClock,
    restart: { firstDelayMs: 1000, maxDelayMs: 300_000, healthyAfterMs: 60_000 },
    env: pe.env,
  });

describe.skipIf(!usable.ok)(`the runtime set${usable.ok ? '' : ` (skipped: ${usable.reason})`}`, () => {
  it('uses and labels what works here, and says why the rest does not', async () => {
    const set = await build(config());
    const probes = Object.fromEntries(set.lastProbe().map((p) => [p.name, p]));
    expect(probes.wasm).toMatchObject({ available: true, labels: { 'outpost.dev/runtime.wasm': 'true' } });
    expect(probes.container).toMatchObject({
      available: true,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      labels: { 'outpost.dev/runtime.container': 'true' },
    });
    expect(probes.container!.detail).toContain('runc');
    expect(probes.compose).toMatchObject({
      available: true,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      labels: { 'outpost.dev/runtime.compose': 'true' },
    });
    expect(probes.helm).toMatchObject({ available: false, detail: expect.stringContaining('not found') });
    expect(probes.helm).not.toHaveProperty('labels');
    expect(set.get('wasm')?.kind).toBe('wasm');
    expect(set.get('container')?.kind).toBe('container');
    expect(set.get('helm')).toBeUndefined();
    expect(
      set
        .all()
        .map((a) => a.kind)
        .sort(),
    ).toEqual(['compose', 'container', 'helm', 'ocre', 'wasm']);
    // The ocre runtime is usable but gives the host no label: its MCUs are child devices.
    expect(probes.ocre).toMatchObject({
      available: true,
      detail: '0 microcontrollers, 0 connected',
      labels: {},
    });
  });

  it('builds no adapter for a runtime agent.yaml turns off', async () => {
    const set = await build(
      config((c) => {
        c.helm.enabled = false;
        c.compose.enabled = false;
        c.ocre.enabled = false;
      }),
    );
    expect(
      set
        .all()
        .map((a) => a.kind)
        .sort(),
    ).toEqual(['container', 'wasm']);
    expect(set.lastProbe().map((p) => p.name)).not.toContain('helm');
  });

  it('reports a runtime whose tool stops working as unavailable on the next probe, without its label', async () => {
    const c = config();
    const set = await build(c);
    expect(set.get('wasm')).toBeDefined();
    fs.rmSync(c.wasm.runner!);
    const again = Object.fromEntries((await set.probe()).map((p) => [p.name, p]));
    expect(again.wasm).toMatchObject({ available: false, detail: expect.stringContaining('not built') });
    expect(again.wasm).not.toHaveProperty('labels');
    expect(set.get('wasm')).toBeUndefined();
  });
});
