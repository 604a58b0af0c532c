import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../lib/base/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import type { DeviceCapabilities } from '../../../lib/model/index.js';
import { startModuleSession, type ModuleSession } from '../../../test/fixtures/agent/module-session.js';
import type { RuntimeProbe, RuntimeSet } from '../../runtimes/index.js';
import { parseAgentConfig } from '../config.js';
import { createStateStore } from '../state.js';
import { createCapabilitiesReport } from './capabilities-report.js';

// The capabilities module against a WFM over real mutual TLS: the document carries one label per
// runtime that works, is sent again when that changes, and not when nothing changed.

let m: ModuleSession | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await m?.close();
  m = undefined;
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('the capabilities module', () => {
  it('reports a label per usable runtime and sends the document again only when it changed', async () => {
    m = await startModuleSession();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-caps-module-'));
    dirs.push(dir);
    const store = createStateStore({
      file: path.join(dir, 'state.json'),
      desiredDir: path.join(dir, 'desired'),
    });
    let probes: RuntimeProbe[] = [
      { name: 'wasm', available: true, labels: { 'outpost.dev/runtime.wasm': 'true' } },
      { name: 'container', available: false, detail: 'podman is not usable' },
    ];
    const runtimes = {
      lastProbe: () => probes,
      probe: () => Promise.resolve(probes),
    } as Pick<RuntimeSet, 'lastProbe' | 'probe'> as RuntimeSet;
    const report = createCapabilitiesReport({
      client: m.session.client,
      store,
      runtimes,
      deviceId: 'edge-m',
      home: dir,
      version: 'test',
      // Fixed resources and an empty host tree: only the runtimes change between two probes here.
      hostRoot: dir,
      config: parseAgentConfig({
        capabilities: { labels: { 'acme.com/line': 'A' }, memory: '1Gi', storage: '10Gi' },
      }),
      clock: systemClock,
      logger: silentLogger(),
    });
    expect(await report.send(false)).toBeUndefined();
    const sent = () => m!.fake.capabilities as DeviceCapabilities[];
    expect(sent()).toHaveLength(1);
    expect(sent()[0]!.labels).toEqual({ 'acme.com/line': 'A', 'outpost.dev/runtime.wasm': 'true' });
    expect(sent()[0]!.properties.supportedDeploymentTypes).toEqual(['custom']);

    // Nothing changed: not sent again.
    await report.send(true);
    expect(sent()).toHaveLength(1);

    // podman works now: the container runtime's label and its deployment type are sent.
    probes = [
      probes[0]!,
      { name: 'container', available: true, labels: { 'outpost.dev/runtime.container': 'true' } },
    ];
    await report.send(true);
    expect(sent()).toHaveLength(2);
    expect(sent()[1]!.labels).toEqual({
      'acme.com/line': 'A',
      'outpost.dev/runtime.wasm': 'true',
      'outpost.dev/runtime.container': 'true',
    });
    expect(sent()[1]!.properties.supportedDeploymentTypes).toEqual(['compose', 'custom']);
    expect(store.get().capabilities?.digest).toMatch(/^sha256:/);
  });
});
