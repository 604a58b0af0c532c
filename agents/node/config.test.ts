import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { OutpostError } from '../../lib/errors/index.js';
import { defaultAgentConfig, loadAgentConfig, parseAgentConfig } from './config.js';

describe('agent configuration', () => {
  it('is the defaults when empty', () => {
    expect(parseAgentConfig(undefined)).toEqual(defaultAgentConfig());
    expect(parseAgentConfig({})).toEqual(defaultAgentConfig());
  });

  it('takes what differs from the defaults', () => {
    const c = parseAgentConfig({
      poll: { intervalSeconds: 5, downtime: [{ start: '22:00', end: '02:00', days: ['fri'] }] },
      capabilities: { memory: '2Gi', labels: { 'acme.com/line': 'A', floor: 2, tags: ['x', 'y'] } },
      registries: { plainHttp: ['10.0.0.5:5000'], authFile: '/etc/outpost/registry-auth.json' },
      runtimes: { container: { engine: 'podman', removeImages: false } },
      deviceId: 'gw-1',
    });
    expect(c.poll.intervalSeconds).toBe(5);
    expect(c.poll.jitter).toBe(0.1);
    expect(c.poll.downtime).toEqual([{ start: '22:00', end: '02:00', days: ['fri'] }]);
    expect(c.capabilities.memory).toBe('2Gi');
    expect(c.capabilities.labels).toEqual({ 'acme.com/line': 'A', floor: 2, tags: ['x', 'y'] });
    expect(c.registries.plainHttp).toEqual(['10.0.0.5:5000']);
    expect(c.registries.authFile).toBe('/etc/outpost/registry-auth.json');
    expect(() => parseAgentConfig({ registries: { authFile: 'auth.json' } })).toThrow(
      /registries\.authFile: must be an absolute path/,
    );
    expect(c.runtimes.container).toMatchObject({ engine: 'podman', removeImages: false, podman: 'podman' });
    expect(c.deviceId).toBe('gw-1');
  });

  it('refuses unknown keys and bad values, naming every field', () => {
    const err = (() => {
      try {
        parseAgentConfig(
          {
            pol: {},
            poll: { intervalSeconds: 0, downtime: [{ start: '25:00', end: '01:00' }] },
            capabilities: { memory: 'lots', labels: { 'bad key': 1, ok: { nested: true } } },
            runtimes: { container: { engine: 'lxc' } },
          },
          'agent.yaml',
        );
      } catch (e) {
        return e as OutpostError;
      }
      throw new Error('no error');
    })();
    expect(err.code).toBe('invalid-config');
    expect(err.message).toMatch(/^agent\.yaml: pol: unknown setting .* \(and 6 more\)$/);
    expect(err.errors!.map((e) => e.field)).toEqual([
      'pol',
      'poll.intervalSeconds',
      'poll.downtime[0].start',
      'capabilities.memory',
      'capabilities.labels.bad key',
      'capabilities.labels.ok',
      'runtimes.container.engine',
    ]);
  });

  it('turns modules and runtimes on and off, and keeps the runtime labels to the agent', () => {
    const c = parseAgentConfig({
      modules: { bus: false, renewal: false, advertise: false },
      runtimes: {
        helm: { enabled: false },
        wasm: { defaultMemory: '32Mi', runner: '/opt/outpost/wasm-runner.js' },
      },
      deployments: { restartSeconds: 2, maxRestartSeconds: 120, healthySeconds: 30 },
    });
    expect(c.modules).toEqual({
      outbox: true,
      capabilities: true,
      polling: true,
      observation: true,
      renewal: false,
      bus: false,
      advertise: false,
    });
    expect(c.runtimes.helm.enabled).toBe(false);
    expect(c.runtimes.wasm).toEqual({
      enabled: true,
      defaultMemory: '32Mi',
      runner: '/opt/outpost/wasm-runner.js',
    });
    expect(c.deployments).toMatchObject({ restartSeconds: 2, maxRestartSeconds: 120, healthySeconds: 30 });
    const fields = (input: unknown) => {
      try {
        parseAgentConfig(input, 'agent.yaml');
      } catch (e) {
        return (e as OutpostError).errors!.map((x) => `${x.field}: ${x.message}`);
      }
      throw new Error('no error');
    };
    expect(fields({ modules: { polling: 'yes', lan: true } })).toEqual([
      'modules.lan: unknown setting (expected one of outbox, capabilities, polling, observation, renewal, bus, advertise)',
      'modules.polling: must be true or false, not "yes"',
    ]);
    expect(fields({ runtimes: { ocre: {}, wasm: { runner: 'relative.js' } } })).toEqual([
      'runtimes.ocre: unknown setting (expected one of wasm, compose, helm, container)',
      'runtimes.wasm.runner: must be an absolute path, not "relative.js"',
    ]);
    expect(fields({ capabilities: { labels: { 'outpost.dev/runtime.wasm': 'true' } } })[0]).toMatch(
      /^capabilities\.labels\.outpost\.dev\/runtime\.wasm: outpost\.dev\/runtime\.\* labels are the agent's own/,
    );
  });

  it('keeps the site registry, mirror rules and LAN discovery beside the runtimes and modules', () => {
    const d = defaultAgentConfig();
    expect(d.registries.mirrors).toEqual([{ prefix: '*', mirror: 'site', fallback: true }]);
    expect(d.registries.siteRegistry).toBeUndefined();
    expect(d.discovery).toEqual({ advertise: true, interfaces: [] });
    expect(d.modules.advertise).toBe(true);
    const c = parseAgentConfig({
      registries: {
        siteRegistry: 'https://lo.site:7500/',
        mirrors: [{ prefix: 'registry.example/samples', mirror: 'site', fallback: false }],
      },
      discovery: { advertise: false, interfaces: ['eth1'] },
      runtimes: { helm: { enabled: false } },
      modules: { bus: false },
    });
    expect(c.registries.siteRegistry).toBe('https://lo.site:7500');
    expect(c.registries.mirrors).toEqual([
      { prefix: 'registry.example/samples', mirror: 'site', fallback: false },
    ]);
    expect(c.discovery).toEqual({ advertise: false, interfaces: ['eth1'] });
    expect(c.runtimes.helm.enabled).toBe(false);
    expect(c.modules).toMatchObject({ bus: false, advertise: true });
    expect(parseAgentConfig({ registries: { siteRegistry: false } }).registries.siteRegistry).toBe(false);
    let err: OutpostError | undefined;
    try {
      parseAgentConfig({
        registries: { siteRegistry: 'lo.site', mirrors: [{ prefix: 'https://r.example', mirror: 'site' }] },
        discovery: { interfaces: 'eth0' },
      });
    } catch (e) {
      err = e as OutpostError;
    }
    expect(err?.errors!.map((e) => e.field)).toEqual([
      'registries.siteRegistry',
      'registries.mirrors[0]',
      'discovery.interfaces',
    ]);
  });

  it('reads agent.yaml (absent: defaults) and reports YAML syntax errors with their position', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-agent-cfg-'));
    try {
      const file = path.join(dir, 'agent.yaml');
      expect(loadAgentConfig(file)).toEqual(defaultAgentConfig());
      fs.writeFileSync(file, 'poll:\n  intervalSeconds: 7\n');
      expect(loadAgentConfig(file).poll.intervalSeconds).toBe(7);
      fs.writeFileSync(file, 'poll:\n  intervalSeconds: [\n');
      expect(() => loadAgentConfig(file)).toThrow(new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
      fs.writeFileSync(file, 'poll: {}\npoll: {}\n');
      expect(() => loadAgentConfig(file)).toThrow(/unique|duplicate/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
