import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDeviceCapabilities } from '../../lib/margo-validation/index.js';
import {
  buildCapabilities,
  capabilitiesDigest,
  cpuCores,
  formatQuantity,
  probeHost,
  type HostFacts,
} from './capabilities.js';
import { parseAgentConfig } from './config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fake root with the sysfs/procfs/dev files of a small industrial PC. */
function fakeRoot(files: Record<string, string>, links: string[] = []): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-caps-'));
  dirs.push(root);
  for (const [p, v] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), v);
  }
  for (const p of links) fs.mkdirSync(path.join(root, p), { recursive: true });
  return root;
}

describe('device capabilities', () => {
  it('reads vendor, model, serial, GPUs, cameras, audio and interfaces from sysfs', () => {
    const root = fakeRoot(
      {
        'sys/class/dmi/id/sys_vendor': 'Acme Industrial\n',
        'sys/class/dmi/id/product_name': 'EdgeBox 5\n',
        'sys/class/dmi/id/product_serial': 'To Be Filled By O.E.M.\n',
        'sys/class/dmi/id/board_serial': 'BX-0042\n',
        'sys/class/drm/card0/device/vendor': '0x10de\n',
        'sys/class/drm/card0/device/device': '0x1eb8\n',
        'sys/class/drm/card0-HDMI-A-1/status': 'connected\n',
        'sys/class/drm/card0-DP-1/status': 'disconnected\n',
        'sys/class/video4linux/video0/name': 'USB Camera\n',
        'dev/snd/pcmC0D0c': '',
        'dev/snd/pcmC0D0p': '',
        'sys/class/net/lo/type': '772\n',
        'sys/class/net/eth0/type': '1\n',
        'sys/class/net/wlan0/type': '1\n',
        'sys/class/net/docker0/type': '1\n',
        'sys/class/net/can0/type': '280\n',
        'dev/ttyUSB0': '',
        'etc/machine-id': 'abc\n',
      },
      [
        'sys/class/net/eth0/device',
        'sys/class/net/wlan0/device',
        'sys/class/net/wlan0/wireless',
        'sys/bus/usb/devices/1-1',
        'sys/class/bluetooth/hci0',
      ],
    );
    const f = probeHost({ root, home: root });
    expect(f).toMatchObject({ vendor: 'Acme Industrial', model: 'EdgeBox 5', serial: 'BX-0042' });
    expect(f.peripherals).toEqual([
      { type: 'gpu', manufacturer: 'NVIDIA', model: '0x10de:0x1eb8' },
      { type: 'display', model: 'HDMI-A-1' },
      { type: 'camera', model: 'USB Camera' },
      { type: 'microphone' },
      { type: 'speaker' },
    ]);
    // docker0 has no device: not hardware.
    expect(f.interfaces.map((i) => i.type)).toEqual([
      'bluetooth',
      'canbus',
      'ethernet',
      'rs232',
      'usb',
      'wifi',
    ]);
    expect(f.storageFreeBytes).toBeGreaterThan(0);
  });

  it('uses the cgroup CPU quota when there is one', () => {
    expect(cpuCores(fakeRoot({ 'sys/fs/cgroup/cpu.max': '150000 100000\n' }))).toBe(
      Math.min(1.5, os.availableParallelism()),
    );
    expect(cpuCores(fakeRoot({ 'sys/fs/cgroup/cpu.max': 'max 100000\n' }))).toBe(os.availableParallelism());
  });

  const facts: HostFacts = {
    architecture: 'amd64',
    cores: 4,
    memoryBytes: 8 * 2 ** 30,
    storageFreeBytes: 100 * 2 ** 30,
    peripherals: [{ type: 'camera' }],
    interfaces: [{ type: 'ethernet' }],
  };

  it('builds the rc.3 document the LO accepts, with the delegated resources and the runtimes that work', () => {
    const cfg = parseAgentConfig({
      capabilities: { labels: { 'acme.com/line': 'A' }, reserveMemory: '1Gi' },
    });
    const caps = buildCapabilities({
      deviceId: 'edge-1',
      config: cfg,
      facts,
      runtimes: [
        { name: 'wasm', available: true, version: 'node 20' },
        { name: 'container', available: true },
        { name: 'compose', available: false },
        { name: 'helm', available: false },
        { name: 'containerd', available: false, version: '1.7' },
      ],
      agentVersion: '1.2.3',
      root: fakeRoot({ 'etc/machine-id': 'm1\n' }),
    });
    expect(caps.properties).toMatchObject({
      id: 'edge-1',
      vendor: 'unknown',
      modelNumber: 'unknown',
      cpus: [{ cores: 4, architecture: 'amd64' }],
      memory: '7Gi',
      storage: '99Gi',
      supportedRuntimes: ['oci', 'custom'],
      supportedDeploymentTypes: ['compose', 'custom'],
      otelCollector: false,
    });
    expect(caps.properties.serialNumber).toMatch(/^mid-[0-9a-f]{16}$/);
    expect(caps.labels).toEqual({ 'acme.com/line': 'A' });
    expect(caps.extensions!['x-outpost-extensions']).toMatchObject({
      runtimes: ['wasm'],
      agent: { version: '1.2.3' },
    });
    const body = { properties: caps.properties, labels: caps.labels, ...caps.extensions };
    expect(parseDeviceCapabilities(body, { pathDeviceId: 'edge-1' }).properties.memory).toBe('7Gi');
  });

  it('takes configured values over probed ones; a node with no runtime claims none', () => {
    const cfg = parseAgentConfig({
      capabilities: {
        vendor: 'V',
        modelNumber: 'M',
        serialNumber: 'S',
        cpuCores: 1.5,
        memory: '512Mi',
        storage: '10Gi',
      },
    });
    const caps = buildCapabilities({
      deviceId: 'n',
      config: cfg,
      facts: { ...facts, architecture: 'riscv64' },
      runtimes: [],
      agentVersion: 'x',
    });
    expect(caps.properties).toMatchObject({
      vendor: 'V',
      modelNumber: 'M',
      serialNumber: 'S',
      cpus: [{ cores: 1.5 }],
      memory: '512Mi',
      storage: '10Gi',
    });
    expect(caps.properties.cpus![0]).not.toHaveProperty('architecture');
    expect(caps.properties).not.toHaveProperty('supportedRuntimes');
    expect(caps.properties).not.toHaveProperty('supportedDeploymentTypes');
  });

  it('labels each runtime that works, and says which limits each enforces', () => {
    const caps = buildCapabilities({
      deviceId: 'edge-1',
      config: parseAgentConfig({ capabilities: { labels: { 'acme.com/line': 'A' } } }),
      facts,
      runtimes: [
        { name: 'wasm', available: true, labels: { 'outpost.dev/runtime.wasm': 'true' } },
        { name: 'container', available: true, labels: { 'outpost.dev/runtime.container': 'true' } },
        { name: 'helm', available: false, detail: 'no cluster' },
      ],
      agentVersion: '1.2.3',
      root: fakeRoot({ 'etc/machine-id': 'm1\n' }),
    });
    expect(caps.labels).toEqual({
      'acme.com/line': 'A',
      'outpost.dev/runtime.wasm': 'true',
      'outpost.dev/runtime.container': 'true',
    });
    expect(caps.extensions!['x-outpost-extensions']).toMatchObject({
      limits: { wasm: { memory: true, cpus: false }, container: { memory: true, cpus: true } },
    });
    const body = { properties: caps.properties, labels: caps.labels, ...caps.extensions };
    expect(parseDeviceCapabilities(body, { pathDeviceId: 'edge-1' }).labels).toEqual(caps.labels);
  });

  it('formats quantities and digests stably', () => {
    expect(formatQuantity(2 ** 30)).toBe('1Gi');
    expect(formatQuantity(1.5 * 2 ** 30)).toBe('1536Mi');
    expect(formatQuantity(-5)).toBe('0Mi');
    const a = {
      properties: { id: 'x', vendor: 'v', modelNumber: 'm', serialNumber: 's' },
      labels: { b: 1, a: 2 },
    };
    const b = {
      labels: { a: 2, b: 1 },
      properties: { serialNumber: 's', modelNumber: 'm', vendor: 'v', id: 'x' },
    };
    expect(capabilitiesDigest(a)).toBe(capabilitiesDigest(b));
  });
});
