import dns from 'node:dns';
import net from 'node:net';
import type { Agent } from 'undici';

/**
 * Which hosts the server may fetch from on a caller's behalf (ADR 0483). A git URL given by an API
 * caller must not turn the server into a probe of its own machine or network: loopback, link-local
 * (169.254/16, cloud metadata included), private, shared (CGNAT), unspecified, multicast and
 * documentation-only addresses are refused unless the setting allows them. The check is made on the
 * address actually connected to (in the connection's DNS lookup), so a name that resolves differently
 * the second time, or a redirect, cannot get around it.
 */

const V4_BLOCKS: [string, number][] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // shared address space (CGNAT)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local (cloud metadata services)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

const v4ToInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

function isPrivateV4(ip: string): boolean {
  const n = v4ToInt(ip);
  return V4_BLOCKS.some(([base, bits]) => {
    const size = 2 ** (32 - bits);
    const start = v4ToInt(base);
    return n >= start && n < start + size;
  });
}

/** The 8 groups of an IPv6 address as numbers (an embedded IPv4 tail included). */
function v6Groups(ip: string): number[] {
  let s = ip.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const n = v4ToInt(v4[1]!);
    s = s.slice(0, -v4[1]!.length) + `${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => parseInt(g || '0', 16));
}

function isPrivateV6(ip: string): boolean {
  const g = v6Groups(ip);
  if (g.slice(0, 7).every((x) => x === 0) && (g[7] === 0 || g[7] === 1)) return true; // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible: judge the IPv4 address.
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) {
    return isPrivateV4(`${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`);
  }
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return true; // unique local fc00::/7
  if ((first & 0xffc0) === 0xfe80) return true; // link-local fe80::/10
  if ((first & 0xffc0) === 0xfec0) return true; // site-local (deprecated)
  if ((first & 0xff00) === 0xff00) return true; // multicast
  if (first === 0x2001 && g[1] === 0x0db8) return true; // documentation
  if (first === 0x64 && g[1] === 0xff9b) return true; // NAT64 of IPv4 (may reach private IPv4)
  return false;
}

/** True for an address the server must not be made to connect to on a caller's behalf. */
export function isPrivateAddress(ip: string): boolean {
  const family = net.isIP(ip);
  if (family === 4) return isPrivateV4(ip);
  if (family === 6) return isPrivateV6(ip);
  return true; // not an address at all: refuse
}

/** The error a refused host gives inside the connection (the git client turns it into its one message). */
export class PrivateHostError extends Error {
  readonly code = 'EPRIVATEHOST';
  constructor(host: string) {
    super(`${host} is on a loopback, link-local or private network`);
    this.name = 'PrivateHostError';
  }
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/** dns.lookup that fails for hosts resolving to any private address. */
export function publicOnlyLookup(
  hostname: string,
  options: dns.LookupOptions,
  callback: LookupCallback,
): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as dns.LookupAddress[];
    if (list.length === 0 || list.some((a) => isPrivateAddress(a.address)))
      return callback(new PrivateHostError(hostname), []);
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

/**
 * An undici dispatcher that connects only to public addresses. A URL naming an IP literal is checked
 * by `refusePrivateLiteral` before the request (Node does not look literals up).
 */
export async function publicOnlyDispatcher(): Promise<Agent> {
  // undici is loaded on the first fetch from git, not when the server starts (ADR 0542).
  const { Agent } = await import('undici');
  return new Agent({ connect: { lookup: publicOnlyLookup as never } });
}

/** Throws PrivateHostError when the URL's host is an IP literal in a private range. */
export function refusePrivateLiteral(url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host) && isPrivateAddress(host)) throw new PrivateHostError(host);
}
