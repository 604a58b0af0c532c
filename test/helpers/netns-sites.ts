import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A remote site in its own Linux network namespace, joined to the centre (this test's namespace) by one veth
 * pair: the only path between them, so a test can cut it the way networks fail and heal it.
 *
 *   centre (this namespace)  <centreIp> ==veth== <siteIp>  site namespace (LO, agents)
 *
 * - `cut('link')`: `ip link set <veth> down` inside the site namespace (both ends lose carrier);
 *   `cut('firewall')`: iptables DROP on the site's veth, both directions, inside the site namespace (the
 *   TCP connections stay open and carry nothing, as behind a firewall that drops packets); `heal()` undoes it.
 * - `spawn(cmd, args)` runs a process in the site namespace (`ip netns exec`, which execs: the pid is the
 *   process itself, so SIGKILL reaches it).
 * - `bridge(port)` gives a port on this namespace's loopback that reaches `127.0.0.1:<port>` inside the site
 *   namespace through a Unix socket (socat in the site namespace): the test's own control path to the site,
 *   which the cut does not touch (the site's nodes stay reachable to it, as on the site's LAN).
 *
 * Nothing is sent outside the two namespaces' veth and loopback. Everything is removed by `destroy()`
 * (deleting the namespace removes the veth pair). Needs root, iproute2, iptables and socat: `netnsSupport()`
 * says why not otherwise, for a clear skip.
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

export function netnsSupport(): { ok: true } | { ok: false; reason: string } {
  if (process.platform !== 'linux') return { ok: false, reason: 'network namespaces need Linux' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'network namespaces need root' };
  for (const [bin, pkg] of [
    ['ip', 'iproute2'],
    ['iptables', 'iptables'],
    ['socat', 'socat'],
  ] as const) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return { ok: false, reason: `${bin} is missing (apt-get install ${pkg})` };
    }
  }
  const probe = `op-probe-${crypto.randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
  } catch (e) {
    return { ok: false, reason: `cannot make a network namespace: ${(e as Error).message.split('\n')[0]}` };
  }
  return { ok: true };
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' }).toString();

export async function createSitePair(): Promise<SitePair> {
  const id = crypto.randomBytes(3).toString('hex');
  const ns = `op-site-${id}`;
  const centreIf = `opc${id}`;
  const siteIf = `ops${id}`;
  // A /30 of 10.213.0.0/16 chosen at random, so parallel runs do not collide.
  const n = crypto.randomBytes(2).readUInt16BE(0) & 0x3fff;
  const base = `10.213.${n >> 6}.${(n & 0x3f) * 4}`;
  const [a, b, c] = base.split('.').slice(0, 3);
  const last = Number(base.split('.')[3]);
  const centreIp = `${a}.${b}.${c}.${last + 1}`;
  const siteIp = `${a}.${b}.${c}.${last + 2}`;
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
    run('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${siteIp}/30`, 'dev', siteIf]);
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', siteIf, 'up']);
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  } catch (e) {
    try {
      run('ip', ['link', 'del', centreIf]);
    } catch {
      /* not made */
    }
    run('ip', ['netns', 'del', ns]);
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
      if (mode === 'link') run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', siteIf, 'down']);
      else fw('-A');
      cutMode = mode;
    },
    heal() {
      if (cutMode === 'link') run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', siteIf, 'up']);
      else if (cutMode === 'firewall') fw('-D');
      cutMode = null;
    },
    spawn(cmd, args, env = {}) {
      const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
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
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
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
