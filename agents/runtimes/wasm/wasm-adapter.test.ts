// Integration tests of the WASM adapter with the real runner (bundled from sources with esbuild into a
// temp dir, started as plain JavaScript) and real node:wasi: output in the log, restarts with backoff,
// the memory cap, clean stops, reattachment after an agent restart, and a SIGKILLed agent mid-install.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isOutpostError } from '../../../lib/errors/index.js';
import { silentLogger } from '../../../lib/log/index.js';
import { buildWasmRunner } from '../../../test/fixtures/wasm/build-runner.js';
import {
  compileWatFixture,
  type CompiledFixture,
  type WatFixture,
} from '../../../test/fixtures/wasm/compile.js';
import { pidAlive, processCommandLine, readJsonFile } from '../fs-util.js';
import { computeSpecHash, safeName } from '../names.js';
import type { WorkloadEvent, WorkloadSpec, WorkloadStatus } from '../types.js';
import type { HostLock, RunnerStatus } from './runner-protocol.js';
import { WasmAdapter } from './wasm-adapter.js';
import { waitFor } from '../../../test/helpers/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
let tmp: string;
let runnerPath: string;
const fixtures = new Map<WatFixture, CompiledFixture>();
const adapters: WasmAdapter[] = [];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-wasm-'));
  runnerPath = await buildWasmRunner(tmp);
  for (const f of [
    'echo-env',
    'service',
    'sleeper',
    'spin',
    'trap',
    'exit-code',
    'grow',
    'import-memory',
    'big-max',
  ] as const) {
    fixtures.set(f, await compileWatFixture(f, tmp));
  }
});

afterEach(async () => {
  for (const a of adapters.splice(0)) {
    for (const w of await a.list()) await a.remove(w.workloadId, { stopTimeoutSec: 3 });
  }
});

afterAll(() => {
  // Belt and braces: no runner may outlive the test file.
  for (const pid of runnerPids(tmp)) process.kill(pid, 'SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

let seq = 0;
function newAdapter(stateDir = path.join(tmp, `state-${++seq}`)): WasmAdapter {
  const a = new WasmAdapter({ stateDir, logger: silentLogger(), runnerPath });
  adapters.push(a);
  return a;
}

function spec(fixture: WatFixture, over: Partial<WorkloadSpec> = {}): WorkloadSpec {
  const f = fixtures.get(fixture)!;
  const base: Omit<WorkloadSpec, 'specHash'> = {
    workloadId: `0f9a3c1e-1111-4c2b-9a7e-${String(++seq).padStart(12, '0')}.${fixture}`,
    deploymentId: '0f9a3c1e-1111-4c2b-9a7e-000000000000',
    component: fixture,
    revision: '1.0.0',
    artifact: { path: f.path, digest: f.digest, mediaType: f.mediaType },
    env: {},
    restart: { initialDelayMs: 50, maxDelayMs: 400 },
    ...over,
  };
  return { ...base, specHash: computeSpecHash(base) };
}

function readLog(s: WorkloadStatus): string {
  try {
    return fs.readFileSync(s.logsPath!, 'utf8');
  } catch {
    return '';
  }
}

/** Live processes whose command line names a directory below `dir` (our runners). */
function runnerPids(dir: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const cmd = processCommandLine(Number(p));
    if (cmd?.some((a) => a.startsWith(dir)) && cmd.some((a) => a.endsWith('wasm-runner.mjs')))
      out.push(Number(p));
  }
  return out;
}

describe('WasmAdapter', () => {
  it('probes the runner and node:wasi', async () => {
    expect(await newAdapter().probe()).toMatchObject({ available: true });
    const missing = new WasmAdapter({
      stateDir: tmp,
      logger: silentLogger(),
      runnerPath: path.join(tmp, 'nope.js'),
    });
    expect(await missing.probe()).toMatchObject({ available: false });
  });

  it('runs a module with arguments and environment from the parameters and captures its output', async () => {
    const a = newAdapter();
    const w = spec('echo-env', {
      env: { GREETING: 'hello edge', MODE: 'test' },
      args: ['--flag', 'two words'],
    });
    await a.apply(w);
    const s = await waitFor(
      async () => {
        const st = await a.status(w.workloadId);
        return st.state === 'exited' ? st : undefined;
      },
      { what: 'the module to exit', timeoutMs: 10_000 },
    );
    expect(s).toMatchObject({ state: 'exited', exitCode: 0, restarts: 0, specHash: w.specHash });
    const lines = readLog(s).split('\n');
    expect(lines).toContain('hello from wasm');
    expect(lines).toContain('arg: --flag');
    expect(lines).toContain('arg: two words');
    expect(lines).toContain('env: GREETING=hello edge');
    expect(lines).toContain('env: MODE=test');
    // The module sees only its parameters, never the agent's environment.
    expect(lines.filter((l) => l.startsWith('env: '))).toHaveLength(2);
  });

  it('restarts a trapping module with exponential backoff, and gives up after maxRestarts', async () => {
    const a = newAdapter();
    const w = spec('trap', { restart: { initialDelayMs: 60, maxDelayMs: 240, maxRestarts: 4 } });
    const first = await a.apply(w);
    expect(['running', 'restarting']).toContain(first.state);
    const s = await waitFor(
      async () => {
        const st = await a.status(w.workloadId);
        return st.state === 'failed' ? st : undefined;
      },
      { what: 'the runner to give up', timeoutMs: 10_000 },
    );
    expect(s.restarts).toBe(4);
    expect(s.message).toMatch(/^gave up after 4 restarts: trap: unreachable/);
    expect(readLog(s).match(/about to trap/g)).toHaveLength(5);
    // Starts are spaced at least by the doubling delays 60, 120, 240, 240 (capped).
    const starts = fs
      .readFileSync(path.join(path.dirname(s.logsPath!), 'runner.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { time: string; msg: string })
      .filter((e) => e.msg === 'module started')
      .map((e) => Date.parse(e.time));
    expect(starts).toHaveLength(5);
    const gaps = starts.slice(1).map((t, i) => t - starts[i]!);
    [60, 120, 240, 240].forEach((min, i) => expect(gaps[i]).toBeGreaterThanOrEqual(min - 1));
    // Same spec again: a runner that gave up is not restarted behind the operator's back...
    const events: WorkloadEvent[] = [];
    await a.apply(w, { onEvent: (e) => events.push(e) });
    expect(events.map((e) => e.type)).toEqual(['unchanged']);
    // ...but an explicit retry is.
    const again = await a.apply(w, { force: true });
    expect(again.restarts).toBe(0);
  });

  it('reports a non-zero exit as failed under the "never" policy', async () => {
    const a = newAdapter();
    const w = spec('exit-code', { restart: { policy: 'never' } });
    await a.apply(w);
    const s = await waitFor(
      async () => {
        const st = await a.status(w.workloadId);
        return st.state === 'failed' ? st : undefined;
      },
      { what: 'failure', timeoutMs: 10_000 },
    );
    expect(s).toMatchObject({ exitCode: 3, restarts: 0, message: 'exited with code 3' });
  });

  it('refuses a module that declares more memory than the limit, and changes nothing', async () => {
    const a = newAdapter();
    const w = spec('big-max', { limits: { memoryBytes: 64 * 1024 * 1024 } });
    const err = await a.apply(w).catch((e: unknown) => e);
    expect(isOutpostError(err, 'runtime/memory-limit')).toBe(true);
    expect((err as Error).message).toContain('declares a maximum of 2048 pages (134217728 bytes)');
    expect(await a.list()).toEqual([]);
    expect((await a.status(w.workloadId)).state).toBe('removed');
  });

  it('stops a module that grows its memory at the limit, and says so', async () => {
    const a = newAdapter();
    const w = spec('grow', { limits: { memoryBytes: 1024 * 1024 }, restart: { policy: 'never' } });
    await a.apply(w);
    const s = await waitFor(
      async () => {
        const st = await a.status(w.workloadId);
        return st.state === 'failed' ? st : undefined;
      },
      { what: 'the trap', timeoutMs: 10_000 },
    );
    expect(readLog(s)).toContain('grow failed');
    expect(s.message).toBe('trap: unreachable (memory at its limit of 1048576 bytes: growing past it fails)');
  });

  it('gives a module that imports its memory one capped at the limit', async () => {
    const a = newAdapter();
    const w = spec('import-memory', { limits: { memoryBytes: 2 * 1024 * 1024 } });
    await a.apply(w);
    const s = await waitFor(
      async () => {
        const st = await a.status(w.workloadId);
        return st.state === 'exited' ? st : undefined;
      },
      { what: 'exit', timeoutMs: 10_000 },
    );
    expect(s.exitCode).toBe(0);
    expect(readLog(s)).toContain('grow failed');
  });

  it('rejects a digest mismatch and a wrong media type before touching anything', async () => {
    const a = newAdapter();
    const w = spec('service');
    const bad = { ...w, artifact: { ...w.artifact, digest: `sha256:${'0'.repeat(64)}` } };
    await expect(a.apply(bad)).rejects.toMatchObject({ code: 'runtime/digest-mismatch' });
    const notWasm = {
      ...w,
      artifact: { ...w.artifact, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
    };
    await expect(a.apply(notWasm)).rejects.toMatchObject({ code: 'runtime/invalid-spec' });
    expect(await a.list()).toEqual([]);
  });

  it('stops cleanly on removal: runner gone, nothing left behind', async () => {
    const a = newAdapter();
    const w = spec('service');
    const s = await a.apply(w);
    expect(s.state).toBe('running');
    await waitFor(() => readLog(s).includes('service up'), { what: 'output', timeoutMs: 10_000 });
    const events: string[] = [];
    await a.remove(w.workloadId, { onEvent: (e) => events.push(e.type) });
    expect(events).toEqual(['removing', 'removed']);
    // The runner had nothing else to run: it ends by itself.
    await waitFor(() => !(pidAlive(s.pid!) && processCommandLine(s.pid!)?.length), {
      what: 'the runner to end',
      timeoutMs: 10_000,
    });
    // Nothing is left behind, the runner's own files included.
    await waitFor(() => fs.readdirSync(path.dirname(path.dirname(s.logsPath!))).length === 0, {
      what: 'an empty state folder',
      timeoutMs: 10_000,
    });
    expect(fs.existsSync(path.dirname(s.logsPath!))).toBe(false);
    expect((await a.status(w.workloadId)).state).toBe('removed');
    await a.remove(w.workloadId); // removing twice is fine
  });

  it('on SIGTERM the runner records the stop and releases its lock, even with a thread blocked in WASI', async () => {
    const a = newAdapter();
    for (const f of ['spin', 'sleeper'] as const) {
      const w = spec(f);
      const s = await a.apply(w);
      expect(s.state).toBe('running');
      const dir = path.dirname(s.logsPath!);
      await waitFor(() => readLog(s).length > 0, { what: 'output', timeoutMs: 10_000 });
      process.kill(s.pid!, 'SIGTERM');
      await waitFor(() => !runnerPids(tmp).includes(s.pid!), {
        what: 'the runner to end',
        timeoutMs: 10_000,
      });
      expect(readJsonFile<RunnerStatus>(path.join(dir, 'status.json'))).toMatchObject({
        state: 'stopped',
        lastExit: { message: 'stopped by SIGTERM' },
      });
      expect(fs.existsSync(path.join(path.dirname(dir), '.runner', 'lock'))).toBe(false);
      expect(await a.status(w.workloadId)).toMatchObject({ state: 'exited', message: 'stopped by SIGTERM' });
      // A stopped workload (host shutdown) is started again by the next apply.
      const again = await a.apply(w);
      expect(again.state).toBe('running');
      expect(again.pid).not.toBe(s.pid);
    }
  });

  it('allows one runner per state directory: a second one leaves, and one that lost its lock ends itself', async () => {
    const stateDir = path.join(tmp, 'one-runner');
    const a = newAdapter(stateDir);
    const w = spec('service');
    const s = await a.apply(w);
    const lockFile = path.join(stateDir, '.runner', 'lock');
    const second = spawn(process.execPath, ['--no-warnings', runnerPath, '--host', stateDir], {
      stdio: 'ignore',
    });
    const code = await new Promise<number | null>((resolve) => second.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(readJsonFile<HostLock>(lockFile)?.pid).toBe(s.pid);
    expect(runnerPids(stateDir)).toEqual([s.pid]);
    // Someone else's pid in the lock (a racing takeover): the runner leaves without a word in the status.
    fs.writeFileSync(lockFile, JSON.stringify({ pid: 1, startedAt: 0 }));
    await waitFor(() => runnerPids(stateDir).length === 0, {
      what: 'the runner to leave',
      timeoutMs: 10_000,
    });
    expect(readJsonFile<RunnerStatus>(path.join(path.dirname(s.logsPath!), 'status.json'))?.state).toBe(
      'running',
    );
    fs.rmSync(lockFile);
  });

  it('survives an agent restart: a new adapter finds the workload and does not restart it', async () => {
    const stateDir = path.join(tmp, 'survive');
    const first = newAdapter(stateDir);
    const w = spec('service', { env: { A: '1' } });
    const s1 = await first.apply(w);
    expect(s1.state).toBe('running');
    await waitFor(() => readLog(s1).includes('service up'), { what: 'output', timeoutMs: 10_000 });
    // "Agent restart": the first adapter object is dropped; the runner keeps running on its own.
    adapters.splice(adapters.indexOf(first), 1);
    const second = newAdapter(stateDir);
    const listed = await second.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      workloadId: w.workloadId,
      state: 'running',
      pid: s1.pid,
      specHash: w.specHash,
    });
    const events: WorkloadEvent[] = [];
    const s2 = await second.apply(w, { onEvent: (e) => events.push(e) });
    expect(events.map((e) => e.type)).toEqual(['unchanged']);
    expect(s2.pid).toBe(s1.pid);
    expect(s2.restarts).toBe(0);
    expect(readLog(s2).match(/service up/g)).toHaveLength(1);
    // A changed spec replaces the module in the same runner: one runner, the module started again.
    const w2 = spec('service', { workloadId: w.workloadId, env: { A: '2' } });
    const s3 = await second.apply(w2, { onEvent: (e) => events.push(e) });
    expect(events.map((e) => e.type)).toEqual(['unchanged', 'replacing', 'started']);
    expect(s3).toMatchObject({ state: 'running', specHash: w2.specHash, pid: s1.pid });
    expect(runnerPids(stateDir)).toEqual([s1.pid]);
    await waitFor(() => readLog(s3).match(/service up/g)?.length === 2, {
      what: 'the new module output',
      timeoutMs: 10_000,
    });
  });

  it('converges without a duplicate after the agent is SIGKILLed during an install', async () => {
    // The "agent": a bundled script that applies the workload and reports its events on stdout.
    const driver = path.join(tmp, 'agent-driver.mjs');
    await build({
      stdin: {
        contents: `
          import { WasmAdapter } from ${JSON.stringify(path.join(root, 'agents/runtimes/wasm/wasm-adapter.ts'))};
          const [stateDir, runnerPath, specJson] = process.argv.slice(2);
          const quiet = { child: () => quiet, info() {}, warn() {}, error() {}, debug() {} };
          const a = new WasmAdapter({ stateDir, runnerPath, logger: quiet });
          await a.apply(JSON.parse(specJson), { onEvent: (e) => process.stdout.write(e.type + '\\n') });
          process.stdout.write('done\\n');
        `,
        resolveDir: root,
        loader: 'ts',
      },
      outfile: driver,
      bundle: true,
      platform: 'node',
      format: 'esm',
      // Bundled CommonJS dependencies (pino, through lib/oci's entry) call require(): give the ESM bundle one.
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'warning',
    });
    // Kill points: as soon as the install starts, a little later, and after it reported the start.
    for (const [i, killAt] of [
      ['installing', 0],
      ['installing', 15],
      ['started', 0],
    ].entries() as IterableIterator<[number, [string, number]]>) {
      const stateDir = path.join(tmp, `crash-${i}`);
      const w = spec('service');
      const child = spawn(process.execPath, [driver, stateDir, runnerPath, JSON.stringify(w)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      let killed = false;
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (!killed && out.split('\n').includes(killAt[0])) {
            killed = true;
            setTimeout(() => child.kill('SIGKILL'), killAt[1]);
          }
        });
        child.on('exit', () => resolve());
      });
      expect(killed).toBe(true);
      // Killed at once: the install cannot have finished. (A few ms later it may have on a fast machine;
      // what follows must hold either way.)
      if (killAt[0] === 'installing' && killAt[1] === 0) expect(out).not.toContain('done');
      const agent = newAdapter(stateDir);
      const events: string[] = [];
      let s = await agent.apply(w, { onEvent: (e) => events.push(e.type) });
      // On a loaded machine the adopted runner may still be starting its module: wait for it.
      if (s.state === 'installing')
        s = await waitFor(
          async () => {
            const now = await agent.status(w.workloadId);
            return now.state !== 'installing' && now;
          },
          { what: 'the adopted runner to start its module', timeoutMs: 10_000, intervalMs: 100 },
        );
      expect(s).toMatchObject({ state: 'running', specHash: w.specHash });
      // Killed after the install finished: the restarted agent adopts the runner as it is.
      if (killAt[0] === 'started') expect(events).toEqual(['unchanged']);
      // A runner the dead agent was starting may still be between fork and exec (it then still runs
      // the driver): once no process runs the dead agent's code, every runner it made is visible. Count.
      await waitFor(
        () =>
          fs
            .readdirSync('/proc')
            .every((p) => !/^\d+$/.test(p) || !processCommandLine(Number(p))?.includes(driver)),
        { what: 'no process of the dead agent left', timeoutMs: 10_000 },
      );
      // A runner that lost the race for the lock leaves at once: then one is left, the workload's.
      await waitFor(() => runnerPids(stateDir).length === 1, { what: 'one runner', timeoutMs: 10_000 });
      expect(runnerPids(stateDir)).toEqual([s.pid]);
      expect(readJsonFile<HostLock>(path.join(stateDir, '.runner', 'lock'))?.pid).toBe(s.pid);
      expect(fs.existsSync(path.join(stateDir, safeName(w.workloadId), 'status.json'))).toBe(true);
      expect((await agent.list()).map((x) => x.workloadId)).toEqual([w.workloadId]);
    }
  });

  describe("one runner for all of the node's WASM workloads (ADR 0544)", () => {
    it('runs them in one process, each with its own log; a crashing one leaves the others alone; one stops while the others run', async () => {
      const stateDir = path.join(tmp, 'shared');
      const a = newAdapter(stateDir);
      const service = spec('service');
      const sleeper = spec('sleeper');
      const crasher = spec('trap', { restart: { initialDelayMs: 50, maxDelayMs: 200 } });
      const s1 = await a.apply(service);
      const s2 = await a.apply(sleeper);
      const s3 = await a.apply(crasher);
      expect(s1).toMatchObject({ state: 'running' });
      expect(s2).toMatchObject({ state: 'running', pid: s1.pid });
      expect(s3.pid).toBe(s1.pid);
      expect(runnerPids(stateDir)).toEqual([s1.pid]);

      // The crasher traps and is restarted again and again, inside the same process.
      await waitFor(async () => (await a.status(crasher.workloadId)).restarts >= 3, {
        what: 'three restarts of the crasher',
        timeoutMs: 10_000,
      });
      for (const w of [service, sleeper]) {
        expect(await a.status(w.workloadId)).toMatchObject({ state: 'running', restarts: 0, pid: s1.pid });
      }
      expect(runnerPids(stateDir)).toEqual([s1.pid]);
      // Each workload's output is its own.
      await waitFor(() => readLog(s1) && readLog(s2) && readLog(s3), {
        what: 'every output',
        timeoutMs: 10_000,
      });
      expect(readLog(s1)).toBe('service up\n');
      expect(readLog(s2)).toBe('sleeping\n');
      expect(new Set(readLog(s3).trim().split('\n'))).toEqual(new Set(['about to trap']));

      // The sleeper (blocked in a 60 s WASI sleep) is removed while the others run on.
      await a.remove(sleeper.workloadId, { stopTimeoutSec: 30 });
      expect(fs.existsSync(path.dirname(s2.logsPath!))).toBe(false);
      expect(await a.status(sleeper.workloadId)).toMatchObject({ state: 'removed' });
      expect(await a.status(service.workloadId)).toMatchObject({
        state: 'running',
        restarts: 0,
        pid: s1.pid,
      });
      const before = (await a.status(crasher.workloadId)).restarts;
      await waitFor(async () => (await a.status(crasher.workloadId)).restarts > before, {
        what: 'the crasher restarted again',
        timeoutMs: 10_000,
      });
      expect(readLog(s1)).toBe('service up\n');
      expect((await a.list()).map((w) => w.workloadId).sort()).toEqual(
        [service.workloadId, crasher.workloadId].sort(),
      );

      // The runner itself killed: every workload is lost, and the next apply brings them back in a new one.
      process.kill(s1.pid!, 'SIGKILL');
      await waitFor(() => runnerPids(stateDir).length === 0, { what: 'the runner gone', timeoutMs: 10_000 });
      for (const w of [service, crasher]) {
        expect(await a.status(w.workloadId)).toMatchObject({ state: 'failed', lost: true });
      }
      const again = await a.apply(service);
      expect(again).toMatchObject({ state: 'running' });
      expect(again.pid).not.toBe(s1.pid);
      const again2 = await a.apply(crasher);
      expect(again2.pid).toBe(again.pid);
      expect(runnerPids(stateDir)).toEqual([again.pid]);

      // Once nothing is left to run, the runner ends.
      await a.remove(service.workloadId);
      await a.remove(crasher.workloadId);
      await waitFor(() => runnerPids(stateDir).length === 0, {
        what: 'the runner to end',
        timeoutMs: 10_000,
      });
    });

    it('a new runner starts only what the agent asks for again', async () => {
      const stateDir = path.join(tmp, 'no-restart');
      const a = newAdapter(stateDir);
      const w = spec('service');
      const s = await a.apply(w);
      const other = spec('sleeper');
      await a.apply(other);
      await waitFor(() => readLog(s).includes('service up'), { what: 'output', timeoutMs: 10_000 });
      // The runner is ended from outside (a host shutdown): both workloads are stopped.
      process.kill(s.pid!, 'SIGTERM');
      await waitFor(() => runnerPids(stateDir).length === 0, {
        what: 'the runner to end',
        timeoutMs: 10_000,
      });
      expect(await a.status(w.workloadId)).toMatchObject({ state: 'exited', lost: true });
      // The agent restarts one of them: a new runner starts it, and only it (the other one waits for
      // the agent's own decision, with its backoff).
      const back = await a.apply(w);
      expect(back.state).toBe('running');
      expect(await a.status(other.workloadId)).toMatchObject({ state: 'exited', lost: true });
      await waitFor(() => readLog(back).match(/service up/g)?.length === 2, {
        what: 'the module to run again',
        timeoutMs: 10_000,
      });
      expect(runnerPids(stateDir)).toEqual([back.pid]);
    });
  });
});
