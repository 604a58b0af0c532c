import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import crypto from 'node:crypto';

/**
 * Linux network namespaces for multi-host tests: a LAN is a bridge in its own namespace with one veth
 * pair per host; each host namespace has `lo` up, its `eth0` on the bridge with an address in
 * 10.213.<lan>.0/24, IPv6 off (no duplicate-address detection to wait for) and a multicast route, so mDNS
 * works between hosts and never leaves the namespaces the test made. Creating namespaces needs root (or
 * CAP_NET_ADMIN + CAP_SYS_ADMIN); `netnsSupport()` says why not when it cannot, for `describe.skipIf`.
 */

export interface NetnsSupport {
  ok: boolean;
  reason: string;
}

let cached: NetnsSupport | undefined;

/** Whether this machine lets the test create namespaces, veth pairs and a bridge (checked once per process). */
export function netnsSupport(): NetnsSupport {
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

function host(ns: string, addr: string, children: Set<ChildProcess>): NsHost {
  const h: NsHost = {
    ns,
    ifname: 'eth0',
    ip: addr,
    spawn(command, args, options = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, command, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...options,
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
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
