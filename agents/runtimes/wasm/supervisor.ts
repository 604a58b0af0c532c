import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { pidAlive, processCommandLine, readJsonFile, writeFileAtomic } from '../fs-util.js';
import {
  hostFile,
  isWorkloadEntry,
  RESCAN_SIGNAL,
  RUNNER_PROTOCOL,
  runnerFile,
  type HostLock,
  type RunnerConfig,
  type RunnerState,
  type RunnerStatus,
  type WorkloadRequest,
} from './runner-protocol.js';
import { capModuleMemory, MemoryLimitError, WASM_PAGE, WasmFormatError } from './wasm-binary.js';
import { wasmApi, type WasmModule } from './webassembly.js';
import type { WorkerInput, WorkerResult } from './worker-main.js';

/** States in which a workload still needs the runner (a module thread runs or a restart is due). */
const ACTIVE: ReadonlySet<RunnerState> = new Set(['starting', 'running', 'restarting']);

/** How long the runner waits, with nothing to run, before it ends. */
const IDLE_GRACE_MS = 2000;

/** One worker thread's JavaScript heap; the module's linear memory is capped separately. */
const WORKER_LIMITS = { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 };

/**
 * One workload inside the runner: runs its module in a worker thread with node:wasi, sends its output to
 * its output.log, restarts it with exponential backoff as the restart policy says, keeps its status.json
 * current. Everything it holds is its own: a module that traps, exits or exhausts its thread's heap ends
 * only its own thread.
 */
export class WorkloadSupervisor {
  private status: RunnerStatus;
  private worker: Worker | undefined;
  private workerGone: Promise<void> = Promise.resolve();
  private stopWord: Int32Array | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private consecutive = 0;
  private module: WasmModule | undefined;
  private importedMemory: WorkerInput['importedMemory'];

  constructor(
    readonly dir: string,
    private readonly cfg: RunnerConfig,
    readonly request: string,
    private readonly workerUrl: URL,
    private readonly onEnd: (w: WorkloadSupervisor) => void,
  ) {
    this.status = {
      protocol: RUNNER_PROTOCOL,
      pid: process.pid,
      request,
      workloadId: cfg.workloadId,
      specHash: cfg.specHash,
      state: 'starting',
      since: Date.now(),
      restarts: 0,
      memoryMaxBytes: cfg.memoryMaxBytes,
    };
  }

  get state(): RunnerState {
    return this.status.state;
  }

  get active(): boolean {
    return ACTIVE.has(this.status.state);
  }

  start(): void {
    this.set('starting', {});
    this.log('workload started', { pid: process.pid, specHash: this.cfg.specHash, request: this.request });
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
    let out: number;
    try {
      out = fs.openSync(runnerFile(this.dir, 'output'), 'a', 0o644);
      fs.mkdirSync(runnerFile(this.dir, 'data'), { recursive: true });
    } catch (e) {
      // The workload's folder went away under the runner (removed): nothing to run.
      this.finish('stopped', { message: `cannot open the workload's files: ${(e as Error).message}` });
      return;
    }
    const stop = new SharedArrayBuffer(4);
    this.stopWord = new Int32Array(stop);
    const input: WorkerInput = {
      role: 'outpost-wasm-module',
      module: this.module!,
      programName: this.cfg.programName,
      args: this.cfg.args,
      env: this.cfg.env,
      dataDir: runnerFile(this.dir, 'data'),
      stdoutFd: out,
      stderrFd: out,
      importedMemory: this.importedMemory,
      stop,
    };
    const startedAt = Date.now();
    let result: WorkerResult | undefined;
    const worker = new Worker(this.workerUrl, {
      workerData: input,
      resourceLimits: WORKER_LIMITS,
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
      if (this.worker === worker) this.worker = undefined;
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

  /**
   * Stops the module: the stop word ends a WASI sleep at once and termination ends running code. A thread
   * still inside another blocking call after the grace period is left to end by itself (returns true):
   * the others keep running. `request` is the stop request answered, if any.
   */
  async stop(reason: string, request?: string): Promise<boolean> {
    if (this.stopping) return false;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.log('stopping', { reason });
    let stuck = false;
    const w = this.worker;
    if (w) {
      Atomics.store(this.stopWord!, 0, 1);
      Atomics.notify(this.stopWord!, 0);
      const grace = new Promise<'timeout'>((r) =>
        setTimeout(() => r('timeout'), this.cfg.stopGraceMs).unref(),
      );
      void w.terminate();
      stuck = (await Promise.race([this.workerGone.then(() => 'gone' as const), grace])) === 'timeout';
      if (stuck) this.log('the module thread did not end in time; left to end by itself');
    }
    if (ACTIVE.has(this.status.state) || request) {
      this.finish('stopped', { lastExit: { at: Date.now(), message: `stopped by ${reason}` } }, request);
    }
    return stuck;
  }

  private finish(
    state: RunnerState,
    extra: { lastExit?: RunnerStatus['lastExit']; message?: string },
    request?: string,
  ): void {
    const lastExit = extra.message
      ? { ...(extra.lastExit ?? { at: Date.now() }), message: extra.message }
      : extra.lastExit;
    this.set(state, { lastExit, nextStartAt: undefined, ...(request ? { request } : {}) });
    this.log('workload ending', { state, message: lastExit?.message });
    this.onEnd(this);
  }

  private set(state: RunnerState, patch: Partial<RunnerStatus>): void {
    const now = Date.now();
    this.status = {
      ...this.status,
      ...patch,
      state,
      since: state === this.status.state ? this.status.since : now,
    };
    try {
      writeFileAtomic(runnerFile(this.dir, 'status'), JSON.stringify(this.status, null, 2));
    } catch {
      // the workload's folder is gone (removed under the runner): nothing to report to
    }
  }

  rotateLog(): void {
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
    appendLog(runnerFile(this.dir, 'runnerLog'), msg, data);
  }
}

function appendLog(file: string, msg: string, data: Record<string, unknown>): void {
  try {
    fs.appendFileSync(file, `${JSON.stringify({ time: new Date().toISOString(), msg, ...data })}\n`);
  } catch {
    // the folder is gone: nothing to log to
  }
}

/**
 * The node's one WASM runner (ADR 0544): a detached process that runs every workload of a state
 * directory, each in its own worker thread, and outlives the agent. It acts on the adapter's requests
 * (`want.json`) when signalled (SIGUSR2) and when it starts, ends cleanly on SIGTERM/SIGINT/SIGHUP
 * (every workload `stopped`), and ends by itself once no workload needs it.
 */
export class RunnerHost {
  private readonly workloads = new Map<string, WorkloadSupervisor>();
  private scanning: Promise<void> | undefined;
  private again = false;
  private ending = false;
  private stuck = 0;
  private lockTimer: NodeJS.Timeout | undefined;
  private logTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stateDir: string,
    private readonly workerUrl: URL,
  ) {}

  /** Takes the runner lock; false when another live runner of this state directory holds it. */
  static acquireLock(stateDir: string): boolean {
    const file = hostFile(stateDir, 'lock');
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = fs.openSync(file, 'wx', 0o644);
        const lock: HostLock = { pid: process.pid, startedAt: Date.now() };
        fs.writeFileSync(fd, JSON.stringify(lock));
        fs.fsyncSync(fd);
        fs.closeSync(fd);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const held = readJsonFile<HostLock>(file);
        if (held && held.pid !== process.pid && isRunnerProcess(held.pid, stateDir)) return false;
        fs.rmSync(file, { force: true });
      }
    }
    return false;
  }

  static holdsLock(stateDir: string): boolean {
    return readJsonFile<HostLock>(hostFile(stateDir, 'lock'))?.pid === process.pid;
  }

  start(): void {
    this.log('runner started', { pid: process.pid });
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void this.end(sig));
    process.on(RESCAN_SIGNAL, () => this.scan());
    this.logTimer = setInterval(() => {
      for (const w of this.workloads.values()) w.rotateLog();
    }, 10_000);
    this.logTimer.unref();
    // Two runners breaking the same stale lock at once could both believe they hold it: whoever no
    // longer finds its pid in the lock leaves at once, without touching any status.
    this.lockTimer = setInterval(() => {
      if (!this.ending && !RunnerHost.holdsLock(this.stateDir)) this.abandon();
    }, 1000);
    this.scan();
  }

  /** Reads every request and acts on those not acted on yet; serialised, and again if signalled meanwhile. */
  scan(): void {
    if (this.ending) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = (async () => {
      do {
        this.again = false;
        await this.scanOnce();
      } while (this.again && !this.ending);
    })()
      .catch((e: unknown) => this.log('scan failed', { error: (e as Error).message }))
      .finally(() => {
        this.scanning = undefined;
        this.maybeEnd();
      });
  }

  private pending(): { dir: string; want: WorkloadRequest }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.stateDir);
    } catch {
      return [];
    }
    const out: { dir: string; want: WorkloadRequest }[] = [];
    for (const name of names.filter(isWorkloadEntry).sort()) {
      const dir = path.join(this.stateDir, name);
      const want = readJsonFile<WorkloadRequest>(runnerFile(dir, 'want'));
      if (!want?.request) continue;
      const answered =
        this.workloads.get(dir)?.request ?? readJsonFile<RunnerStatus>(runnerFile(dir, 'status'))?.request;
      if (want.request !== answered) out.push({ dir, want });
    }
    return out;
  }

  private async scanOnce(): Promise<void> {
    // Workloads whose folder was removed under the runner end.
    for (const [dir, w] of this.workloads) {
      if (!fs.existsSync(dir)) {
        this.workloads.delete(dir);
        if (await w.stop('removal')) this.stuck++;
      }
    }
    for (const { dir, want } of this.pending()) {
      if (this.ending) return;
      const current = this.workloads.get(dir);
      if (current) {
        this.workloads.delete(dir);
        if (await current.stop(want.run ? 'replacement' : 'request', want.run ? undefined : want.request))
          this.stuck++;
      }
      if (!want.run) {
        // Nothing of it ran here: answer the request all the same.
        if (!current) this.answerStop(dir, want.request);
        continue;
      }
      const cfg = readRunnerConfig(dir);
      if (!cfg || cfg.specHash !== want.specHash) {
        this.log('request without its spec', { dir, request: want.request });
        this.answerFailed(dir, want, cfg ? 'spec.json is not the requested spec' : 'spec.json is missing');
        continue;
      }
      const w = new WorkloadSupervisor(dir, cfg, want.request, this.workerUrl, () => this.maybeEnd());
      this.workloads.set(dir, w);
      w.start();
    }
  }

  private answerStop(dir: string, request: string): void {
    const st = readJsonFile<RunnerStatus>(runnerFile(dir, 'status'));
    if (!st) return;
    const state = ACTIVE.has(st.state) ? 'stopped' : st.state;
    writeStatus(dir, { ...st, pid: process.pid, request, state, since: Date.now() });
  }

  private answerFailed(dir: string, want: WorkloadRequest, message: string): void {
    writeStatus(dir, {
      protocol: RUNNER_PROTOCOL,
      pid: process.pid,
      request: want.request,
      workloadId: '',
      specHash: want.specHash,
      state: 'failed',
      since: Date.now(),
      restarts: 0,
      lastExit: { at: Date.now(), message },
      memoryMaxBytes: 0,
    });
  }

  /**
   * Ends the process when no workload has needed it for a moment (IDLE_GRACE_MS: a removal deletes the
   * workload's folder right after the runner answered, and the runner leaves nothing behind then).
   */
  private maybeEnd(): void {
    if (this.ending || this.scanning) return;
    if ([...this.workloads.values()].some((w) => w.active)) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      return;
    }
    this.idleTimer ??= setTimeout(() => {
      this.idleTimer = undefined;
      this.endIfIdle();
    }, IDLE_GRACE_MS);
  }

  /** The lock goes first, then a last look for requests. */
  private endIfIdle(): void {
    if (this.ending || this.scanning) return;
    if ([...this.workloads.values()].some((w) => w.active)) return;
    fs.rmSync(hostFile(this.stateDir, 'lock'), { force: true });
    if (this.pending().length > 0) {
      // A request came in meanwhile: carry on if the lock can be had again, else the new runner has it.
      if (RunnerHost.acquireLock(this.stateDir)) {
        this.scan();
        return;
      }
    }
    this.ending = true;
    this.log('runner ending', { reason: 'no workload to run' });
    this.tidy();
    this.exit();
  }

  /** With no workload folder left, the runner leaves nothing behind (a new runner's lock stays). */
  private tidy(): void {
    try {
      if (fs.readdirSync(this.stateDir).some(isWorkloadEntry)) return;
      fs.rmSync(hostFile(this.stateDir, 'log'), { force: true });
      fs.rmdirSync(path.dirname(hostFile(this.stateDir, 'log')));
    } catch {
      // a new runner's lock is there, or the folder is gone: fine either way
    }
  }

  private async end(signal: string): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    this.log('stopping', { signal });
    const all = [...this.workloads.values()];
    const stuck = await Promise.all(all.map((w) => w.stop(signal)));
    this.stuck += stuck.filter(Boolean).length;
    if (RunnerHost.holdsLock(this.stateDir)) fs.rmSync(hostFile(this.stateDir, 'lock'), { force: true });
    this.log('runner ending', { reason: signal });
    this.exit();
  }

  private exit(): void {
    if (this.lockTimer) clearInterval(this.lockTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.logTimer) clearInterval(this.logTimer);
    // A thread still blocked in a call would hold process.exit(): end the process outright then.
    if (this.stuck > 0) process.kill(process.pid, 'SIGKILL');
    process.exit(0);
  }

  private abandon(): void {
    this.ending = true;
    this.log('lock taken over by another runner; leaving');
    process.kill(process.pid, 'SIGKILL');
  }

  private log(msg: string, data: Record<string, unknown> = {}): void {
    appendLog(hostFile(this.stateDir, 'log'), msg, data);
  }
}

function writeStatus(dir: string, st: RunnerStatus): void {
  try {
    writeFileAtomic(runnerFile(dir, 'status'), JSON.stringify(st, null, 2));
  } catch {
    // removed meanwhile
  }
}

/** Whether `pid` is a live runner of this state directory (pid reuse is checked through /proc). */
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
