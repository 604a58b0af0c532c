import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait.js';

export const EDGECTL = path.resolve('bin/edgectl.js');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built edgectl and collects its output. */
export function edgectl(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EDGECTL, ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`edgectl ${args.join(' ')} timed out\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export interface ServerProcess {
  child: ChildProcess;
  home: string;
  info: {
    url: string;
    token: string;
    pid: number;
    natsUrl?: string;
    mmiUrl?: string;
    registryUrl?: string;
    registryLoopbackUrl?: string;
  };
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Waits until the server started as `child` has written `<home>/run/server.json` (with its own pid, not
 * a stale one from an earlier run), and returns what it wrote. Gives up when the child exits first.
 */
export function serverInfo<I extends { pid: number }>(
  home: string,
  child: ChildProcess,
  stderr: () => string,
  timeoutMs = 30_000,
): Promise<I> {
  const serverJson = path.join(home, 'run', 'server.json');
  return waitFor(
    () => {
      const info = JSON.parse(fs.readFileSync(serverJson, 'utf8')) as I;
      return info.pid === child.pid && info;
    },
    {
      what: () => `the server to write ${serverJson} (stderr: ${stderr()})`,
      giveUpIf: () => child.exitCode !== null && `it exited early (${child.exitCode})`,
      timeoutMs,
      intervalMs: 50,
    },
  );
}

/** Starts `edgectl server --port 0` on a home and waits for server.json. */
export async function startServer(
  home: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  /** How to start the process (default: a child of this one), e.g. inside a network namespace. */
  launch?: (cmd: string, args: string[], env: NodeJS.ProcessEnv) => ChildProcess,
): Promise<ServerProcess> {
  const argv = [EDGECTL, 'server', '--home', home, '--port', '0', '--log-level', 'warn', ...args];
  const child = launch
    ? launch(process.execPath, argv, env)
    : spawn(process.execPath, argv, {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let signalled = false;
  let info: ServerProcess['info'];
  try {
    info = await serverInfo<ServerProcess['info']>(home, child, () => err);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    child,
    home,
    info,
    stdout: () => out,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && (!signalled || signal === 'SIGKILL')) {
        signalled = true;
        child.kill(signal);
      }
      return exited;
    },
  };
}
