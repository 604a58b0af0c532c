import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Linux network namespaces for multi-host tests, in two shapes:
 *
 * - `createLan(n)`: a LAN is a bridge in its own namespace with one veth pair per host; each host namespace
 *   has `lo` up, its `eth0` on the bridge with an address in 10.213.<lan>.0/24, IPv6 off (no
 *   duplicate-address detection to wait for) and a multicast route, so mDNS works between hosts and never
 *   leaves the namespaces the test made (discovery).
 * - `createSitePair()`: a remote site in its own namespace joined to the centre (the test's own namespace)
 *   by one veth pair in 10.214.0.0/16, the only path between them, which the test cuts the way networks
 *   fail and heals (site partitions).
 *
 * Creating namespaces needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN); `netnsSupport()` says why not when it
 * cannot, for `describe.skipIf`.
 */

export interface NetnsSupport {
  ok: boolean;
  reason: string;
}

let cached: NetnsSupport | undefined;

/** The Debian package of each tool a namespace test may need besides iproute2. */
const TOOL_PACKAGES = { iptables: 'iptables', socat: 'socat' } as const;

/**
 * Whether this machine lets the test create namespaces, veth pairs and a bridge (checked once per process),
 * and has the `tools` the test runs inside them.
 */
export function netnsSupport(tools: readonly (keyof typeof TOOL_PACKAGES)[] = []): NetnsSupport {
  const base = namespacesSupport();
  if (!base.ok) return base;
  for (const tool of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return { ok: false, reason: `${tool} is missing (apt-get install ${TOOL_PACKAGES[tool]})` };
    }
  }
  return base;
}

function namespacesSupport(): NetnsSupport {
  if (cached) return cached;
  const probe = `opprobe${process.pid}`;
  try {
    if (process.platform !== 'linux') throw new Error('network namespaces are a Linux feature');
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    try {
      execFileSync('ip', ['-n', probe, 'link', 'add', 'br0', 'type', 'bridge'], { stdio: 'pipe' });
      execFileSync('ip', ['-n', probe, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1'], {
        stdio: 'pipe',
      });
    } finally {
      execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
    }
    cached = { ok: true, reason: '' };
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const why = (err.stderr?.toString() || err.message).trim().split('\n')[0];
    cached = {
      ok: false,
      reason: `cannot create network namespaces here (needs Linux, iproute2 and root or CAP_NET_ADMIN): ${why}`,
    };
  }
  return cached;
}

export interface NsHost {
  /** The namespace name. */
  ns: string;
  /** The interface on the LAN inside the namespace. */
  ifname: 'eth0';
  ip: string;
  /** Starts a process inside the namespace (`ip netns exec`, which execs: the child's pid is the program's). */
  spawn(command: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Runs a command to completion inside the namespace. */
  run(
    command: string,
    args: string[],
    options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<RunOutput>;
}

export interface RunOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Lan {
  hosts: NsHost[];
  /** Stops every process started through the hosts and deletes the namespaces. */
  destroy(): Promise<void>;
}

let lanSeq = 0;

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** A LAN with `count` hosts (10.213.<n>.1, .2, ...). */
export function createLan(count: number): Lan {
  const tag = `${process.pid.toString(36)}${crypto.randomBytes(2).toString('hex')}${lanSeq++}`;
  const subnet = 10 + (crypto.randomBytes(1)[0]! % 200);
  const sw = `op${tag}sw`;
  const children = new Set<ChildProcess>();
  const made: string[] = [];
  const hosts: NsHost[] = [];
  try {
    ip(['netns', 'add', sw]);
    made.push(sw);
    ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    for (let i = 1; i <= count; i++) {
      const ns = `op${tag}h${i}`;
      const peer = `v${tag.slice(-6)}${i}`.slice(0, 15);
      ip(['netns', 'add', ns]);
      made.push(ns);
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1'], {
        stdio: 'pipe',
      });
      execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.disable_ipv6=1'], {
        stdio: 'pipe',
      });
      ip(['link', 'add', peer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['link', 'set', peer, 'netns', sw]);
      ip(['-n', sw, 'link', 'set', peer, 'master', 'br0']);
      ip(['-n', sw, 'link', 'set', peer, 'up']);
      const addr = `10.213.${subnet}.${i}`;
      ip(['-n', ns, 'addr', 'add', `${addr}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
      hosts.push(host(ns, addr, children));
    }
  } catch (e) {
    for (const ns of made.reverse()) {
      try {
        ip(['netns', 'del', ns]);
      } catch {
        /* best effort */
      }
    }
    throw e;
  }
  return {
    hosts,
    async destroy() {
      await Promise.all([...children].map((c) => stopChild(c)));
      for (const ns of made.reverse()) {
        try {
          ip(['netns', 'del', ns]);
        } catch {
          /* already gone */
        }
      }
    },
  };
}

/** Starts a process in namespace `ns` (`ip netns exec` execs: the pid is the program's) and tracks it. */
function spawnIn(
  ns: string,
  children: Set<ChildProcess>,
  command: string,
  args: string[],
  options: SpawnOptions = {},
): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function host(ns: string, addr: string, children: Set<ChildProcess>): NsHost {
  const h: NsHost = {
    ns,
    ifname: 'eth0',
    ip: addr,
    spawn(command, args, options = {}) {
      return spawnIn(ns, children, command, args, options);
    },
    run(command, args, options = {}) {
      return new Promise((resolve, reject) => {
        const child = h.spawn(command, args, { env: { ...process.env, ...options.env } });
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`${command} ${args.join(' ')} in ${ns} timed out\n${stderr}`));
        }, options.timeoutMs ?? 60_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
    },
  };
  return h;
}

/** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** SIGKILL, resolving when the process is gone (a site's processes die the way a power cut kills them). */
function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/**
 * A remote site in its own network namespace, joined to the centre (this test's namespace) by one veth pair:
 *
 *   centre (this namespace)  <centreIp> ==veth== <siteIp>  site namespace (LO, agents)
 *
 * - `cut('link')`: `ip link set <veth> down` inside the site namespace (both ends lose carrier);
 *   `cut('firewall')`: iptables DROP on the site's veth, both directions, inside the site namespace (the
 *   TCP connections stay open and carry nothing, as behind a firewall that drops packets); `heal()` undoes it.
 * - `spawn(cmd, args)` runs a process in the site namespace (its pid is the process itself, so SIGKILL
 *   reaches it).
 * - `bridge(port)` gives a port on this namespace's loopback that reaches `127.0.0.1:<port>` inside the site
 *   namespace through a Unix socket (socat in the site namespace): the test's own control path to the site,
 *   which the cut does not touch (the site's nodes stay reachable to it, as on the site's LAN).
 *
 * Nothing is sent outside the two namespaces' veth and loopback. `destroy()` removes everything (deleting
 * the namespace removes the veth pair). Needs iptables and socat besides iproute2:
 * `netnsSupport(['iptables', 'socat'])`.
 */
export interface SitePair {
  readonly ns: string;
  readonly centreIp: string;
  readonly siteIp: string;
  readonly dir: string;
  cut(mode: 'link' | 'firewall'): void;
  heal(): void;
  spawn(cmd: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
  /** Runs a command in the site namespace and returns its stdout. */
  exec(cmd: string, args: string[]): string;
  bridge(port: number): Promise<number>;
  destroy(): Promise<void>;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' }).toString();

export function createSitePair(): SitePair {
  const id = crypto.randomBytes(3).toString('hex');
  const ns = `op-site-${id}`;
  const centreIf = `opc${id}`;
  const siteIf = `ops${id}`;
  // A /30 of 10.214.0.0/16 chosen at random, so parallel runs do not collide (LANs use 10.213.0.0/16).
  const n = crypto.randomBytes(2).readUInt16BE(0) & 0x3fff;
  const prefix = `10.214.${n >> 6}`;
  const last = (n & 0x3f) * 4;
  const centreIp = `${prefix}.${last + 1}`;
  const siteIp = `${prefix}.${last + 2}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `outpost-netns-${id}-`));
  const children = new Set<ChildProcess>();
  const servers = new Set<net.Server>();
  const sockets = new Set<net.Socket>();
  let cutMode: 'link' | 'firewall' | null = null;

  run('ip', ['netns', 'add', ns]);
  try {
    run('ip', ['link', 'add', centreIf, 'type', 'veth', 'peer', 'name', siteIf]);
    run('ip', ['link', 'set', siteIf, 'netns', ns]);
    run('ip', ['addr', 'add', `${centreIp}/30`, 'dev', centreIf]);
    run('ip', ['link', 'set', centreIf, 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `${siteIp}/30`, 'dev', siteIf]);
    run('ip', ['-n', ns, 'link', 'set', siteIf, 'up']);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    try {
      run('ip', ['link', 'del', centreIf]);
    } catch {
      /* not made */
    }
    run('ip', ['netns', 'del', ns]);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const fw = (op: '-A' | '-D') => {
    run('ip', ['netns', 'exec', ns, 'iptables', op, 'INPUT', '-i', siteIf, '-j', 'DROP']);
    run('ip', ['netns', 'exec', ns, 'iptables', op, 'OUTPUT', '-o', siteIf, '-j', 'DROP']);
  };

  const pair: SitePair = {
    ns,
    centreIp,
    siteIp,
    dir,
    cut(mode) {
      if (cutMode) throw new Error(`already cut (${cutMode})`);
      if (mode === 'link') run('ip', ['-n', ns, 'link', 'set', siteIf, 'down']);
      else fw('-A');
      cutMode = mode;
    },
    heal() {
      if (cutMode === 'link') run('ip', ['-n', ns, 'link', 'set', siteIf, 'up']);
      else if (cutMode === 'firewall') fw('-D');
      cutMode = null;
    },
    spawn(cmd, args, env = {}) {
      return spawnIn(ns, children, cmd, args, { env: { ...process.env, ...env } });
    },
    exec(cmd, args) {
      return run('ip', ['netns', 'exec', ns, cmd, ...args]);
    },
    async bridge(port) {
      const sock = path.join(dir, `bridge-${port}.sock`);
      const socat = pair.spawn('socat', [`UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:127.0.0.1:${port}`]);
      socat.stdout?.resume();
      socat.stderr?.resume();
      for (let i = 0; !fs.existsSync(sock); i++) {
        if (i > 200) throw new Error(`socat did not make ${sock}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      const server = net.createServer((inbound) => {
        const outbound = net.connect({ path: sock });
        sockets.add(inbound).add(outbound);
        const end = () => {
          inbound.destroy();
          outbound.destroy();
          sockets.delete(inbound);
          sockets.delete(outbound);
        };
        inbound.on('error', end).on('close', end);
        outbound.on('error', end).on('close', end);
        inbound.pipe(outbound);
        outbound.pipe(inbound);
      });
      servers.add(server);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      return (server.address() as net.AddressInfo).port;
    },
    async destroy() {
      for (const s of sockets) s.destroy();
      await Promise.all([...servers].map((s) => new Promise((r) => s.close(() => r(undefined)))));
      await Promise.all([...children].map((c) => killChild(c)));
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
      try {
        run('ip', ['link', 'del', centreIf]);
      } catch {
        /* removed with the namespace */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return pair;
}
