import fs from 'node:fs';
import { Worker } from 'node:worker_threads';
import { pidAlive, processCommandLine, readJsonFile, writeFileAtomic } from '../fs-util.js';
import {
  RUNNER_PROTOCOL,
  runnerFile,
  type RunnerConfig,
  type RunnerLock,
  type RunnerState,
  type RunnerStatus,
} from './runner-protocol.js';
import { capModuleMemory, MemoryLimitError, WASM_PAGE, WasmFormatError } from './wasm-binary.js';
import { wasmApi, type WasmModule } from './webassembly.js';
import type { WorkerInput, WorkerResult } from './worker-main.js';

/**
 * The per-workload supervisor (runs in its own detached process, see runner.ts): runs the module in a
 * worker thread with node:wasi, sends its output to output.log, restarts it with exponential backoff as
 * the restart policy says, keeps status.json current, and stops cleanly on SIGTERM/SIGINT.
 */
export class Supervisor {
  private status: RunnerStatus;
  private worker: Worker | undefined;
  private workerGone: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private logTimer: NodeJS.Timeout | undefined;
  private lockTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private consecutive = 0;
  private module: WasmModule | undefined;
  private importedMemory: WorkerInput['importedMemory'];

  constructor(
    private readonly dir: string,
    private readonly cfg: RunnerConfig,
    private readonly workerUrl: URL,
  ) {
    this.status = {
      protocol: RUNNER_PROTOCOL,
      pid: process.pid,
      workloadId: cfg.workloadId,
      specHash: cfg.specHash,
      state: 'starting',
      since: Date.now(),
      restarts: 0,
      memoryMaxBytes: cfg.memoryMaxBytes,
    };
  }

  /** Takes the workload's lock; false when another live runner holds it (this one must then exit). */
  static acquireLock(dir: string, specHash: string): boolean {
    const file = runnerFile(dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx', 0o644);
        const lock: RunnerLock = { pid: process.pid, specHash, startedAt: Date.now() };
        fs.writeFileSync(fd, JSON.stringify(lock));
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const held = readJsonFile<RunnerLock>(file);
        if (held && held.pid !== process.pid && isRunnerProcess(held.pid, dir)) return false;
        fs.rmSync(file, { force: true });
      }
    }
    return false;
  }

  static holdsLock(dir: string): boolean {
    return readJsonFile<RunnerLock>(runnerFile(dir, 'lock'))?.pid === process.pid;
  }

  start(): void {
    this.log('runner started', { pid: process.pid, specHash: this.cfg.specHash });
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void this.stop(sig));
    this.logTimer = setInterval(() => this.rotateLog(), 10_000);
    this.logTimer.unref();
    // Two runners breaking the same stale lock at once could both believe they hold it: whoever no
    // longer finds its pid in the lock leaves at once, without touching the status.
    this.lockTimer = setInterval(() => {
      if (!this.stopping && readJsonFile<RunnerLock>(runnerFile(this.dir, 'lock'))?.pid !== process.pid)
        this.abandon();
    }, 1000);
    this.lockTimer.unref();
    try {
      const bytes = fs.readFileSync(runnerFile(this.dir, 'module'));
      const capped = capModuleMemory(bytes, Math.floor(this.cfg.memoryMaxBytes / WASM_PAGE));
      this.module = new (wasmApi().Module)(capped.bytes);
      this.importedMemory = capped.importedMemory;
    } catch (e) {
      const what =
        e instanceof MemoryLimitError
          ? 'memory limit'
          : e instanceof WasmFormatError
            ? 'invalid module'
            : 'cannot load module';
      this.finish('failed', { message: `${what}: ${(e as Error).message}` });
      return;
    }
    this.run();
  }

  private run(): void {
    this.timer = undefined;
    if (this.stopping) return;
    this.rotateLog();
    const out = fs.openSync(runnerFile(this.dir, 'output'), 'a', 0o644);
    const dataDir = runnerFile(this.dir, 'data');
    fs.mkdirSync(dataDir, { recursive: true });
    const input: WorkerInput = {
      role: 'outpost-wasm-module',
      module: this.module!,
      programName: this.cfg.programName,
      args: this.cfg.args,
      env: this.cfg.env,
      dataDir,
      stdoutFd: out,
      stderrFd: out,
      importedMemory: this.importedMemory,
    };
    const startedAt = Date.now();
    let result: WorkerResult | undefined;
    const worker = new Worker(this.workerUrl, {
      workerData: input,
      resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 },
      stdout: true,
      stderr: true,
    });
    // The module writes to the log fd directly; anything the worker's JS prints is drained and dropped.
    worker.stdout.resume();
    worker.stderr.resume();
    this.worker = worker;
    this.workerGone = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: WorkerResult) => (result = m));
    worker.on('error', (e) => (result = { type: 'error', message: e.message }));
    worker.once('exit', () => {
      fs.closeSync(out);
      this.worker = undefined;
      if (!this.stopping) this.ended(result, startedAt);
    });
    this.set('running', { startedAt, nextStartAt: undefined });
    this.log('module started', { restarts: this.status.restarts });
  }

  private ended(result: WorkerResult | undefined, startedAt: number): void {
    const now = Date.now();
    let exitCode: number | undefined;
    let message: string;
    let permanent = false;
    if (!result) message = 'the module thread ended without a result';
    else if (result.type === 'exit') {
      exitCode = result.exitCode;
      message = `exited with code ${result.exitCode}`;
    } else if (result.type === 'trap') {
      message = `trap: ${result.message}`;
      const capBytes = Math.floor(this.cfg.memoryMaxBytes / WASM_PAGE) * WASM_PAGE;
      if (result.memoryBytes !== undefined && result.memoryBytes >= capBytes) {
        message += ` (memory at its limit of ${capBytes} bytes: growing past it fails)`;
      }
    } else if (result.type === 'invalid') {
      message = `cannot run module: ${result.message}`;
      permanent = true;
    } else message = `module thread failed: ${result.message}`;
    const lastExit = { at: now, exitCode, message };
    this.log('module ended', lastExit);
    const failed = !(result?.type === 'exit' && result.exitCode === 0);
    const { policy, maxRestarts, initialDelayMs, maxDelayMs, resetAfterMs } = this.cfg.restart;
    if (permanent) return this.finish('failed', { lastExit, message });
    if (policy === 'never' || (policy === 'on-failure' && !failed)) {
      return this.finish(failed ? 'failed' : 'exited', { lastExit });
    }
    if (maxRestarts !== undefined && this.status.restarts >= maxRestarts) {
      return this.finish('failed', {
        lastExit,
        message: `gave up after ${this.status.restarts} restarts: ${message}`,
      });
    }
    if (now - startedAt >= resetAfterMs) this.consecutive = 0;
    const delay = Math.min(initialDelayMs * 2 ** this.consecutive, maxDelayMs);
    this.consecutive++;
    this.set('restarting', { lastExit, restarts: this.status.restarts + 1, nextStartAt: now + delay });
    this.timer = setTimeout(() => this.run(), delay);
  }

  async stop(signal: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.log('stopping', { signal });
    let stuck = false;
    const w = this.worker;
    if (w) {
      const grace = new Promise<'timeout'>((r) =>
        setTimeout(() => r('timeout'), this.cfg.stopGraceMs).unref(),
      );
      void w.terminate();
      // A thread blocked inside a WASI call (poll_oneoff sleeping) only notices termination when the
      // call returns; past the grace period the runner ends the whole process instead.
      stuck = (await Promise.race([this.workerGone.then(() => 'gone' as const), grace])) === 'timeout';
    }
    this.finish('stopped', { lastExit: { at: Date.now(), message: `stopped by ${signal}` } }, stuck);
  }

  private abandon(): void {
    this.stopping = true;
    this.log('lock taken over by another runner; leaving');
    process.kill(process.pid, 'SIGKILL');
  }

  private finish(
    state: RunnerState,
    extra: { lastExit?: RunnerStatus['lastExit']; message?: string },
    kill = false,
  ): void {
    const lastExit = extra.message
      ? { ...(extra.lastExit ?? { at: Date.now() }), message: extra.message }
      : extra.lastExit;
    this.set(state, { lastExit, nextStartAt: undefined });
    this.log('runner ending', { state, message: lastExit?.message });
    if (this.logTimer) clearInterval(this.logTimer);
    this.releaseLock();
    if (kill) process.kill(process.pid, 'SIGKILL');
    process.exit(0);
  }

  private releaseLock(): void {
    const file = runnerFile(this.dir, 'lock');
    if (readJsonFile<RunnerLock>(file)?.pid === process.pid) fs.rmSync(file, { force: true });
  }

  private set(state: RunnerState, patch: Partial<RunnerStatus>): void {
    const now = Date.now();
    this.status = {
      ...this.status,
      ...patch,
      state,
      since: state === this.status.state ? this.status.since : now,
    };
    writeFileAtomic(runnerFile(this.dir, 'status'), JSON.stringify(this.status, null, 2));
  }

  private rotateLog(): void {
    const file = runnerFile(this.dir, 'output');
    try {
      if (fs.statSync(file).size <= this.cfg.logMaxBytes) return;
      // Copy and truncate: the module's fd is opened with O_APPEND, so it keeps writing at the new end.
      fs.copyFileSync(file, `${file}.1`);
      fs.truncateSync(file, 0);
    } catch {
      // no log yet
    }
  }

  private log(msg: string, data: Record<string, unknown> = {}): void {
    try {
      fs.appendFileSync(
        runnerFile(this.dir, 'runnerLog'),
        `${JSON.stringify({ time: new Date().toISOString(), msg, ...data })}\n`,
      );
    } catch {
      // the state directory is gone (workload removed under us): nothing to log to
    }
  }
}

/** Whether `pid` is a live runner for this workload directory (pid reuse is checked through /proc). */
export function isRunnerProcess(pid: number, dir: string): boolean {
  if (!pidAlive(pid)) return false;
  const cmd = processCommandLine(pid);
  if (!cmd) return true;
  return cmd.includes(dir);
}

export function readRunnerConfig(dir: string): RunnerConfig | undefined {
  const cfg = readJsonFile<RunnerConfig>(runnerFile(dir, 'spec'));
  return cfg?.protocol === RUNNER_PROTOCOL ? cfg : undefined;
}
