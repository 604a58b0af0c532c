import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stopChild, type NsHost } from './netns.js';
import { waitFor } from './wait.js';

/**
 * Avahi (Debian's avahi-daemon and avahi-utils) as an independent mDNS peer inside a test's network
 * namespace, without touching the system: its own dbus-daemon on a socket in a temporary folder
 * (DBUS_SYSTEM_BUS_ADDRESS), a private /run (unshare --mount and a tmpfs), no privilege drop, no chroot,
 * and only the namespace's LAN interface. avahi-browse and avahi-publish talk to it through `env`.
 */

export function avahiSupport(): { ok: boolean; reason: string } {
  const missing = ['avahi-daemon', 'avahi-browse', 'avahi-publish', 'dbus-daemon', 'unshare'].filter((b) => {
    try {
      execFileSync('sh', ['-c', `command -v ${b}`], { stdio: 'pipe' });
      return false;
    } catch {
      return true;
    }
  });
  return missing.length === 0
    ? { ok: true, reason: '' }
    : {
        ok: false,
        reason: `Avahi is not installed (missing ${missing.join(', ')}; scripts/setup.sh installs it)`,
      };
}

export interface Avahi {
  /** Environment for avahi-browse and avahi-publish. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export async function startAvahi(host: NsHost, dir: string): Promise<Avahi> {
  fs.mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, 'system_bus_socket');
  fs.writeFileSync(
    path.join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  fs.writeFileSync(
    path.join(dir, 'avahi.conf'),
    `[server]
host-name=avahi-${host.ns.slice(-6)}
use-ipv4=yes
use-ipv6=no
allow-interfaces=${host.ifname}
enable-dbus=yes
ratelimit-interval-usec=0
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
[reflector]
[rlimits]
`,
  );
  const env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` };
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const keep = (c: ChildProcess, name: string) => {
    children.push(c);
    c.stdout?.on('data', (d: Buffer) => logs.push(`${name}: ${d.toString()}`));
    c.stderr?.on('data', (d: Buffer) => logs.push(`${name}: ${d.toString()}`));
    return c;
  };
  const bus = keep(
    host.spawn('dbus-daemon', [`--config-file=${path.join(dir, 'bus.conf')}`, '--nofork', '--nopidfile']),
    'dbus',
  );
  const stop = async () => {
    for (const c of children.reverse()) await stopChild(c);
  };
  try {
    await waitFor(() => fs.existsSync(socket), {
      what: () => `dbus-daemon to start (log: ${logs.join('')})`,
      giveUpIf: () => bus.exitCode !== null && `dbus-daemon exited (${bus.exitCode})`,
    });
    const daemon = keep(
      host.spawn(
        'unshare',
        [
          '--mount',
          'sh',
          '-c',
          `mount -t tmpfs tmpfs /run && mkdir -p /run/avahi-daemon && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f ${path.join(dir, 'avahi.conf')}`,
        ],
        { env: { ...process.env, ...env } },
      ),
      'avahi-daemon',
    );
    await waitFor(() => logs.some((l) => l.includes('Server startup complete')), {
      what: () => `avahi-daemon to start (log: ${logs.join('')})`,
      giveUpIf: () => daemon.exitCode !== null && `avahi-daemon exited (${daemon.exitCode})`,
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { env, stop };
}
