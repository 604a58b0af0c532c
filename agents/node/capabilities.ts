import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  canonicalJson,
  tryParseQuantity,
  OUTPOST_EXTENSION_KEY,
  type CpuArchitecture,
  type DeploymentType,
  type DeviceCapabilities,
  type InterfaceType,
  type PeripheralType,
} from '../../lib/model/index.js';
import { BUILTIN_RUNTIMES, type RuntimeDefinition, type RuntimeProbe } from '../runtimes/index.js';
import type { AgentConfig, LabelValue } from './config.js';

/**
 * The node's Margo DeviceCapabilities (rc.3 shape, ADR 0265): what the machine exposes (DMI or device
 * tree for vendor, model and serial; CPUs and architecture; GPUs, cameras, displays and audio; network
 * and other interfaces), the resources delegated to workloads (configurable), the runtimes and
 * deployment types that really work here (from the runtime probes and what each registered runtime
 * contributes), the configured labels and one label per runtime that works (`outpost.dev/runtime.wasm:
 * "true"`, ADR 0206). Reads only files under `root` (default `/`), so tests can hand it a fake tree.
 */

export type { RuntimeProbe };

export interface HostFacts {
  vendor?: string;
  model?: string;
  serial?: string;
  architecture: CpuArchitecture;
  cores: number;
  memoryBytes: number;
  /** Free bytes on the file system of the agent home. */
  storageFreeBytes?: number;
  peripherals: { type: PeripheralType; manufacturer?: string; model?: string }[];
  interfaces: { type: InterfaceType }[];
}

const read = (root: string, p: string): string | undefined => {
  try {
    const v = fs.readFileSync(path.join(root, p), 'utf8').replace(/\0/g, '').trim();
    return v === '' ? undefined : v;
  } catch {
    return undefined;
  }
};

const list = (root: string, p: string): string[] => {
  try {
    return fs.readdirSync(path.join(root, p)).sort();
  } catch {
    return [];
  }
};

const exists = (root: string, p: string) => fs.existsSync(path.join(root, p));

/** Placeholders firmware writes where it has no value. */
const JUNK =
  /^(to be filled by o\.?e\.?m\.?|default string|system (product name|manufacturer|serial number)|not specified|none|0+|123456789|unknown|o\.e\.m\.)$/i;
const clean = (v: string | undefined) => (v && !JUNK.test(v.trim()) ? v.trim() : undefined);

export function architectureOf(arch: string = process.arch): CpuArchitecture {
  switch (arch) {
    case 'x64':
      return 'amd64';
    case 'arm64':
      return 'arm64';
    case 'arm':
      return 'arm';
    case 'riscv64':
      return 'riscv64';
    default:
      return 'other';
  }
}

/** CPUs this process may use: the cgroup v2 quota (`cpu.max`) or v1 (`cfs_quota/period`), else the host's. */
export function cpuCores(root = '/'): number {
  const host = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const v2 = read(root, 'sys/fs/cgroup/cpu.max')?.split(/\s+/);
  if (v2 && v2[0] !== 'max' && v2[1]) {
    const q = Number(v2[0]) / Number(v2[1]);
    if (q > 0) return Math.min(host, Math.round(q * 100) / 100);
  }
  const quota = Number(read(root, 'sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(read(root, 'sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  if (quota > 0 && period > 0) return Math.min(host, Math.round((quota / period) * 100) / 100);
  return host;
}

const PCI_VENDORS: Record<string, string> = {
  '0x10de': 'NVIDIA',
  '0x1002': 'AMD',
  '0x8086': 'Intel',
  '0x13b5': 'ARM',
  '0x1af4': 'Red Hat (virtio)',
  '0x1234': 'QEMU',
  '0x15ad': 'VMware',
};

/** Reads the hardware facts from sysfs/procfs below `root`. */
export function probeHost(opts: { root?: string; home: string }): HostFacts {
  const root = opts.root ?? '/';
  const vendor =
    clean(read(root, 'sys/class/dmi/id/sys_vendor')) ?? clean(read(root, 'sys/class/dmi/id/board_vendor'));
  const dtModel = clean(read(root, 'proc/device-tree/model'));
  const model = clean(read(root, 'sys/class/dmi/id/product_name')) ?? dtModel;
  const serial =
    clean(read(root, 'sys/class/dmi/id/product_serial')) ??
    clean(read(root, 'proc/device-tree/serial-number')) ??
    clean(read(root, 'sys/class/dmi/id/board_serial'));

  const peripherals: HostFacts['peripherals'] = [];
  const seen = new Set<string>();
  const add = (p: HostFacts['peripherals'][number]) => {
    const k = JSON.stringify(p);
    if (!seen.has(k)) {
      seen.add(k);
      peripherals.push(p);
    }
  };
  for (const card of list(root, 'sys/class/drm')) {
    if (/^card\d+$/.test(card)) {
      const v = read(root, `sys/class/drm/${card}/device/vendor`);
      add({
        type: 'gpu',
        ...(v && PCI_VENDORS[v] ? { manufacturer: PCI_VENDORS[v] } : {}),
        ...(v ? { model: `${v}:${read(root, `sys/class/drm/${card}/device/device`) ?? '?'}` } : {}),
      });
    } else if (/^card\d+-/.test(card) && read(root, `sys/class/drm/${card}/status`) === 'connected') {
      add({ type: 'display', model: card.replace(/^card\d+-/, '') });
    }
  }
  if (
    exists(root, 'dev/nvidia0') &&
    !peripherals.some((p) => p.type === 'gpu' && p.manufacturer === 'NVIDIA')
  )
    add({ type: 'gpu', manufacturer: 'NVIDIA' });
  for (const v of list(root, 'sys/class/video4linux')) {
    const name = read(root, `sys/class/video4linux/${v}/name`);
    add({ type: 'camera', ...(name ? { model: name } : {}) });
  }
  for (const d of list(root, 'dev/snd')) {
    if (/^pcmC\d+D\d+c$/.test(d)) add({ type: 'microphone' });
    if (/^pcmC\d+D\d+p$/.test(d)) add({ type: 'speaker' });
  }

  const types = new Set<InterfaceType>();
  for (const n of list(root, 'sys/class/net')) {
    if (n === 'lo') continue;
    const base = `sys/class/net/${n}`;
    const type = read(root, `${base}/type`);
    if (type === '280') types.add('canbus');
    // Only interfaces backed by a device: bridges, veths, tunnels and ifb are not hardware.
    if (!exists(root, `${base}/device`)) continue;
    if (exists(root, `${base}/wireless`) || exists(root, `${base}/phy80211`)) types.add('wifi');
    else if (type === '1') types.add('ethernet');
    else if (type === '519' || /^wwan/.test(n)) types.add('cellular');
  }
  if (list(root, 'sys/class/bluetooth').length > 0) types.add('bluetooth');
  if (list(root, 'sys/bus/usb/devices').some((d) => /^\d+-[\d.]+$/.test(d))) types.add('usb');
  const serials = list(root, 'dev').filter((d) => /^tty(USB|ACM|AMA|S[0-3]$)/.test(d));
  if (
    serials.some((d) => /^tty(USB|ACM|AMA)/.test(d)) ||
    serials.some((d) => exists(root, `sys/class/tty/${d}/device/driver`))
  )
    types.add('rs232');

  let storageFreeBytes: number | undefined;
  try {
    const st = fs.statfsSync(opts.home);
    storageFreeBytes = st.bavail * st.bsize;
  } catch {
    storageFreeBytes = undefined;
  }
  return {
    ...(vendor ? { vendor } : {}),
    ...(model ? { model } : {}),
    ...(serial ? { serial } : {}),
    architecture: architectureOf(),
    cores: cpuCores(root),
    memoryBytes: os.totalmem(),
    ...(storageFreeBytes !== undefined ? { storageFreeBytes } : {}),
    peripherals,
    interfaces: [...types].sort().map((type) => ({ type })),
  };
}

/** Bytes as a Margo quantity in the largest binary unit that divides it (floored to Mi). */
export function formatQuantity(bytes: number): string {
  const mi = Math.max(0, Math.floor(bytes / 2 ** 20));
  if (mi >= 1024 && mi % 1024 === 0) return `${mi / 1024}Gi`;
  return `${mi}Mi`;
}

/** What `machine-id` gives when firmware has no serial: a stable, non-reversible id of this host. */
function fallbackSerial(root: string): string {
  const id = read(root, 'etc/machine-id') ?? read(root, 'var/lib/dbus/machine-id') ?? os.hostname();
  return `mid-${createHash('sha256').update(id).digest('hex').slice(0, 16)}`;
}

export interface BuildCapabilitiesInput {
  deviceId: string;
  config: AgentConfig;
  facts: HostFacts;
  runtimes: RuntimeProbe[];
  agentVersion: string;
  root?: string;
  /** The registered runtimes (default: agents/runtimes/registry.ts). */
  definitions?: readonly RuntimeDefinition[];
}

/** Margo's order of deployment types and runtimes in a capabilities document. */
const TYPE_ORDER: readonly DeploymentType[] = ['compose', 'helm', 'custom'];
const RUNTIME_ORDER = ['oci', 'custom'] as const;

/** The capabilities document the agent PUTs (and re-sends when its digest changes). */
export function buildCapabilities(input: BuildCapabilitiesInput): DeviceCapabilities {
  const { config, facts } = input;
  const c = config.capabilities;
  const usable = input.runtimes.filter((r) => r.available);
  const defs = (input.definitions ?? BUILTIN_RUNTIMES).filter((d) => usable.some((r) => r.name === d.kind));
  // What the usable runtimes contribute (a compose profile runs through the compose tool, or for image
  // components the container engine: both contribute `compose`).
  const types = TYPE_ORDER.filter((t) => defs.some((d) => d.capabilities.deploymentTypes.includes(t)));
  const runtimes = RUNTIME_ORDER.filter((r) => defs.some((d) => d.capabilities.runtimes.includes(r)));
  const extensionRuntimes = [...new Set(defs.flatMap((d) => d.capabilities.extensionRuntimes ?? []))];
  const labels = { ...c.labels, ...Object.assign({}, ...usable.map((r) => r.labels ?? {})) } as Record<
    string,
    LabelValue
  >;
  const arch = facts.architecture;
  const memory =
    c.memory ?? formatQuantity(Math.max(0, facts.memoryBytes - (tryParseQuantity(c.reserveMemory) ?? 0)));
  const storage =
    c.storage ??
    (facts.storageFreeBytes !== undefined
      ? formatQuantity(Math.max(0, facts.storageFreeBytes - (tryParseQuantity(c.reserveStorage) ?? 0)))
      : undefined);
  return {
    properties: {
      id: input.deviceId,
      vendor: c.vendor ?? facts.vendor ?? 'unknown',
      modelNumber: c.modelNumber ?? facts.model ?? 'unknown',
      serialNumber: c.serialNumber ?? facts.serial ?? fallbackSerial(input.root ?? '/'),
      cpus: [
        {
          cores: c.cpuCores ?? facts.cores,
          ...(arch === 'amd64' || arch === 'arm64' || arch === 'arm' ? { architecture: arch } : {}),
        },
      ],
      memory,
      ...(storage ? { storage } : {}),
      peripherals: facts.peripherals,
      interfaces: facts.interfaces,
      otelCollector: c.otelCollector,
      // Margo wants at least one of each from a hosting device; a node with no usable runtime omits them
      // (the WFM then treats it as not hosting workloads) rather than claiming one it does not have.
      ...(runtimes.length ? { supportedRuntimes: runtimes } : {}),
      ...(types.length ? { supportedDeploymentTypes: types } : {}),
    },
    ...(Object.keys(labels).length ? { labels } : {}),
    extensions: {
      [OUTPOST_EXTENSION_KEY]: {
        runtimes: extensionRuntimes,
        // Which of a profile's limits each usable runtime enforces (the others are not applied).
        ...(defs.length ? { limits: Object.fromEntries(defs.map((d) => [d.kind, { ...d.limits }])) } : {}),
        agent: { version: input.agentVersion },
        engines: input.runtimes.map((r) => ({
          name: r.name,
          available: r.available,
          ...(r.version ? { version: r.version } : {}),
        })),
      },
    },
  };
}

/** Digest of a capabilities document (RFC 8785), to send it again only when it changed. */
export function capabilitiesDigest(caps: DeviceCapabilities): string {
  return `sha256:${createHash('sha256').update(canonicalJson(caps)).digest('hex')}`;
}
