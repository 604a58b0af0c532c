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
      mcus: true,
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
      'modules.lan: unknown setting (expected one of outbox, capabilities, polling, observation, renewal, bus, advertise, mcus)',
      'modules.polling: must be true or false, not "yes"',
    ]);
    expect(fields({ runtimes: { lamp: {}, wasm: { runner: 'relative.js' } } })).toEqual([
      'runtimes.lamp: unknown setting (expected one of wasm, compose, helm, container, ocre)',
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

  it('reads the microcontrollers (mcus) and refuses bad entries, naming each field', () => {
    const cfg = parseAgentConfig({
      mcus: [
        { name: 'mcu1', port: '/dev/ttyACM0' },
        {
          name: 'plc-2',
          port: '/dev/serial/by-id/usb-x',
          baud: 921600,
          board: 'b_u585i_iot02a',
          memory: '512Ki',
        },
      ],
      runtimes: { ocre: { checkSeconds: 1, discover: false } },
    });
    expect(cfg.mcus).toEqual([
      { name: 'mcu1', port: '/dev/ttyACM0', baud: 115200 },
      {
        name: 'plc-2',
        port: '/dev/serial/by-id/usb-x',
        baud: 921600,
        board: 'b_u585i_iot02a',
        memory: '512Ki',
      },
    ]);
    expect(cfg.runtimes.ocre).toMatchObject({ enabled: true, checkSeconds: 1, discover: false });
    expect(parseAgentConfig({}).mcus).toEqual([]);
    const fields = (input: unknown) => {
      try {
        parseAgentConfig(input);
      } catch (e) {
        return (e as OutpostError).errors!.map((x) => `${x.field}: ${x.message}`);
      }
      throw new Error('no error');
    };
    expect(fields({ mcus: { port: '/dev/ttyACM0' } })).toEqual([
      'mcus: must be a list of { name, port, baud } entries',
    ]);
    expect(
      fields({
        mcus: [
          { name: 'MCU_1', port: 'ttyACM0', baud: 12345 },
          { port: '/dev/ttyACM1', speed: 9600 },
          { name: 'a', port: '/dev/ttyACM2', memory: 'lots' },
          { name: 'a', port: '/dev/ttyACM1' },
          'mcu',
        ],
      }),
    ).toEqual([
      'mcus[0].name: must be lowercase letters, digits and inner dashes, at most 63, not "MCU_1"',
      'mcus[0].port: must be an absolute device path such as /dev/ttyACM0, or COMn, not "ttyACM0"',
      'mcus[0].baud: 12345 is not a serial speed (one of 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000, 2000000)',
      'mcus[1].speed: unknown setting (expected one of name, port, baud, board, memory, storage)',
      'mcus[1].name: is required (the MCU becomes the child device <host>/<name>)',
      expect.stringMatching(/^mcus\[2\]\.memory: /),
      'mcus[3].name: "a" is already the name of mcus[2]',
      'mcus[3].port: /dev/ttyACM1 is already the port of mcus[1]',
      'mcus[4]: must be a mapping { name, port, baud }',
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
