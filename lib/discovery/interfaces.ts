import os from 'node:os';
import { OutpostError } from '../errors/index.js';

export interface SelectedInterface {
  /** The interface name (`eth0`, `veth-lo`). */
  name: string;
  /** Its first IPv4 address: multicast membership and the source of our packets on it. */
  ipv4: string;
}

type InterfaceTable = ReturnType<typeof os.networkInterfaces>;

/**
 * Resolves the interfaces to advertise or browse on. `wanted` holds interface names or IPv4 addresses
 * (an address selects the interface that holds it). Empty: every non-loopback interface with an IPv4
 * address. An entry that names nothing here is an error, so a typo in the configuration is not a silent
 * "discovery does nothing".
 */
export function selectInterfaces(
  wanted: readonly string[] = [],
  table: InterfaceTable = os.networkInterfaces(),
): SelectedInterface[] {
  const all: (SelectedInterface & { internal: boolean; addresses: string[] })[] = [];
  for (const [name, addrs] of Object.entries(table)) {
    const v4 = (addrs ?? []).filter((a) => a.family === 'IPv4');
    if (v4.length === 0) continue;
    all.push({ name, ipv4: v4[0]!.address, internal: v4[0]!.internal, addresses: v4.map((a) => a.address) });
  }
  if (wanted.length === 0) return all.filter((i) => !i.internal).map(({ name, ipv4 }) => ({ name, ipv4 }));
  const out: SelectedInterface[] = [];
  for (const w of wanted) {
    const hit = all.find((i) => i.name === w) ?? all.find((i) => i.addresses.includes(w));
    if (!hit) {
      throw new OutpostError(
        'invalid-config',
        `discovery: no network interface "${w}" with an IPv4 address here (have: ${all.map((i) => i.name).join(', ') || 'none'})`,
      );
    }
    const ipv4 = hit.addresses.includes(w) ? w : hit.ipv4;
    if (!out.some((o) => o.name === hit.name)) out.push({ name: hit.name, ipv4 });
  }
  return out;
}

/**
 * The interfaces a listener bound to `host` serves: a wildcard address serves every non-loopback
 * interface, a loopback address none that mDNS could reach, any other address the interface holding it.
 */
export function interfacesServing(host: string, table: InterfaceTable = os.networkInterfaces()): string[] {
  if (host === '0.0.0.0' || host === '::' || host === '')
    return selectInterfaces([], table).map((i) => i.name);
  if (host === 'localhost' || host.startsWith('127.') || host === '::1') return [];
  for (const [name, addrs] of Object.entries(table)) {
    if ((addrs ?? []).some((a) => a.address === host && !a.internal)) return [name];
  }
  return [];
}
