import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait.js';

/**
 * A private containerd (Debian's, shared/notes/environment.md) for tests: its own config, root, state and
 * socket in a temporary folder, so it never touches a system instance; the CRI plugin is off. Root only.
 * `stop()` ends it and removes the folder.
 */
export interface TestContainerd {
  socket: string;
  /** Runs `ctr --address <socket> ...`; never throws on a non-zero exit. */
  ctr(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export function containerdUsable(): { ok: boolean; reason?: string } {
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return { ok: false, reason: 'containerd needs root' };
  for (const bin of ['containerd', 'ctr'])
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
      return {
        ok: false,
        reason: `${bin} is not installed (apt-get install --no-install-recommends containerd)`,
      };
  return { ok: true };
}

export async function startContainerd(): Promise<TestContainerd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-containerd-'));
  const socket = path.join(dir, 'containerd.sock');
  fs.writeFileSync(
    path.join(dir, 'config.toml'),
    `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "${socket}"
[ttrpc]
  address = "${dir}/containerd-ttrpc.sock"
[debug]
  address = ""
[metrics]
  address = ""
`,
  );
  const child: ChildProcess = spawn('containerd', ['--config', path.join(dir, 'config.toml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => fs.existsSync(socket), {
      what: () => `containerd to start (log: ${log.trim()})`,
      giveUpIf: () => child.exitCode !== null && `containerd exited (${child.exitCode})`,
      timeoutMs: 20_000,
    });
  } catch (e) {
    await stop();
    throw e;
  }
  const ctr = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
      const c = spawn('ctr', ['--address', socket, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('error', reject);
      c.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  return { socket, ctr, stop };
}
