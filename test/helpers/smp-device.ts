import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from './wait.js';

/**
 * A PTY pair made by socat (`pty,raw,echo=0` twice, with links in a temporary folder) and, on one
 * end, the SMP device simulator as its own process (dist/cli/smp-simulator.js). `port` is the end
 * a client opens. Events the simulator prints (JSON lines) are collected; `send` writes a control
 * command to it.
 */
export interface SmpDevice {
  port: string;
  simPort: string;
  events: Record<string, unknown>[];
  send(cmd: object): void;
  waitFor(
    pred: (e: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Pulls the cable: the simulator loses RAM and the PTY pair goes away (`port` stops existing). */
  unplug(): Promise<void>;
  /** Plugs it back: a new PTY pair at the same paths, the simulator boots again (flash kept). */
  replug(): Promise<void>;
  stop(): Promise<void>;
}

export interface PtyPair {
  dir: string;
  a: string;
  b: string;
  socat: ChildProcess;
  stop(keepDir?: boolean): Promise<void>;
}

export async function startPtyPair(existingDir?: string): Promise<PtyPair> {
  const dir = existingDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-smp-'));
  const a = path.join(dir, 'dev');
  const b = path.join(dir, 'sim');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  socat.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => socat.on('exit', () => resolve()));
  try {
    await waitFor(() => fs.existsSync(a) && fs.existsSync(b), {
      what: () => `socat's PTY pair (${err})`,
      timeoutMs: 15_000,
    });
  } catch (e) {
    socat.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    a,
    b,
    socat,
    async stop(keepDir = false) {
      if (socat.exitCode === null && socat.signalCode === null) socat.kill('SIGTERM');
      await exited;
      if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
      else for (const p of [a, b]) fs.rmSync(p, { force: true });
    },
  };
}

export async function startSmpDevice(args: string[] = []): Promise<SmpDevice> {
  let pair = await startPtyPair();
  const child = spawn(
    process.execPath,
    [path.resolve('dist/cli/smp-simulator.js'), '--port', pair.b, ...args],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const events: Record<string, unknown>[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      try {
        events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not an event */
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const device: SmpDevice = {
    port: pair.a,
    simPort: pair.b,
    events,
    send(cmd) {
      child.stdin!.write(JSON.stringify(cmd) + '\n');
    },
    async waitFor(pred, timeoutMs = 20_000) {
      return waitFor(() => events.find(pred), {
        what: () => `a simulator event (stderr: ${stderr})`,
        timeoutMs,
      });
    },
    async unplug() {
      const seen = events.length;
      device.send({ op: 'unplug' });
      await waitFor(() => events.slice(seen).some((e) => e.event === 'unplugged'), {
        what: 'the simulator to unplug',
        timeoutMs: 15_000,
      });
      await pair.stop(true);
    },
    async replug() {
      pair = await startPtyPair(pair.dir);
      const seen = events.length;
      device.send({ op: 'plug', port: pair.b });
      await waitFor(() => events.slice(seen).some((e) => e.event === 'plugged'), {
        what: 'the simulator to plug in',
        timeoutMs: 15_000,
      });
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await pair.stop();
    },
  };
  try {
    await device.waitFor((e) => e.event === 'ready');
  } catch (e) {
    await device.stop();
    throw e;
  }
  return device;
}
