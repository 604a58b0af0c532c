import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../../../lib/base/index.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/index.js';
import { pidAlive, readJsonFile, sleep, verifyArtifact, writeFileAtomic } from '../fs-util.js';
import { safeName, WORKLOAD_ID } from '../names.js';
import {
  isImageArtifact,
  RuntimeErrorCode,
  type ApplyOptions,
  type ProbeResult,
  type RemoveOptions,
  type RuntimeAdapter,
  type WorkloadEvent,
  type WorkloadSpec,
  type WorkloadStatus,
} from '../types.js';
import type { RestartTiming } from '../runtime.js';
import { WASM_LAYER_MEDIA_TYPES } from './index.js';
import { locateWasmRunner } from './locate-runner.js';
import { probeWasm } from './probe-wasm.js';
import {
  hostFile,
  isWorkloadEntry,
  RESCAN_SIGNAL,
  RUNNER_PROTOCOL,
  runnerFile,
  type HostLock,
  type RunnerConfig,
  type RunnerLock,
  type RunnerState,
  type RunnerStatus,
  type WorkloadRequest,
} from './runner-protocol.js';
import { isRunnerProcess, readRunnerConfig } from './supervisor.js';
import { wasmApi } from './webassembly.js';
import { capModuleMemory, MemoryLimitError, readExports, WASM_PAGE, WasmFormatError } from './wasm-binary.js';

export interface WasmAdapterOptions {
  /** One directory per workload below it (agent-instance specific). */
  stateDir: string;
  logger: Logger;
  clock?: Clock;
  /** The built runner (default: located next to the bundle, see locateWasmRunner). */
  runnerPath?: string;
  /** The Node binary that runs the runner (default process.execPath; Electron runs as Node). */
  nodePath?: string;
  /** Memory cap when the spec sets none (default 64 MiB). */
  defaultMemoryBytes?: number;
  /** The largest cap a spec may ask for (default 1 GiB). */
  maxMemoryBytes?: number;
  /** How long apply waits for the module to start (default 10 s). */
  startTimeoutMs?: number;
  /** Per-workload output log size before it is rotated (default 8 MiB). */
  logMaxBytes?: number;
  /** The restart backoff when a spec names none (default 500 ms doubling to 30 s, reset after 60 s up). */
  restart?: RestartTiming;
}

interface Current {
  dir: string;
  cfg?: RunnerConfig;
  want?: WorkloadRequest;
  status?: RunnerStatus;
  /** The live runner's pid when it runs this workload's current request. */
  alive?: number;
  /** A per-workload runner of an earlier version still running this workload. */
  legacy?: RunnerLock;
}

/**
 * WASM workloads (Margo `custom` profile, `x-outpost-extensions.runtime: wasm`): all of the node's
 * workloads run in one detached runner process (runner.ts, ADR 0544), each module in its own thread, so
 * they survive agent restarts; the adapter talks to it only through the files in the state directory
 * (runner-protocol.ts) and a signal, and starts it when none runs.
 */
export class WasmAdapter implements RuntimeAdapter {
  readonly kind = 'wasm' as const;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly defaultMemory: number;
  private readonly maxMemory: number;
  /** Starting the runner, one at a time within this agent. */
  private starting: Promise<number | undefined> | undefined;

  constructor(private readonly opts: WasmAdapterOptions) {
    this.log = opts.logger.child({ component: 'runtime-wasm' });
    this.clock = opts.clock ?? systemClock;
    this.defaultMemory = opts.defaultMemoryBytes ?? 64 * 1024 * 1024;
    this.maxMemory = opts.maxMemoryBytes ?? 1024 * 1024 * 1024;
  }

  private runnerPath(): string | undefined {
    return this.opts.runnerPath ?? locateWasmRunner();
  }

  probe(): Promise<ProbeResult> {
    return probeWasm(this.runnerPath());
  }

  private dirFor(workloadId: string): string {
    return path.join(this.opts.stateDir, safeName(workloadId));
  }

  /** The live runner of this state directory, if one runs. */
  private host(): number | undefined {
    const lock = readJsonFile<HostLock>(hostFile(this.opts.stateDir, 'lock'));
    return lock && isRunnerProcess(lock.pid, this.opts.stateDir) ? lock.pid : undefined;
  }

  private current(dir: string, host = this.host()): Current {
    const cfg = readRunnerConfig(dir);
    const want = readJsonFile<WorkloadRequest>(runnerFile(dir, 'want'));
    const status = readJsonFile<RunnerStatus>(runnerFile(dir, 'status'));
    const old = readJsonFile<RunnerLock>(runnerFile(dir, 'lock'));
    const legacy = old && isRunnerProcess(old.pid, dir) ? old : undefined;
    const answered = want !== undefined && status?.request === want.request;
    const alive =
      legacy?.pid ??
      (host !== undefined && status?.pid === host && answered && ACTIVE_STATES.includes(status.state)
        ? host
        : undefined);
    return { dir, cfg, want, status, alive, legacy };
  }

  async apply(w: WorkloadSpec, opts: ApplyOptions = {}): Promise<WorkloadStatus> {
    const emit = (type: WorkloadEvent['type'], message?: string) =>
      opts.onEvent?.({ workloadId: w.workloadId, type, at: this.clock.now(), message });
    const memoryBytes = this.validate(w);
    const dir = this.dirFor(w.workloadId);
    const cur = this.current(dir);
    if (!opts.force && cur.cfg?.specHash === w.specHash && cur.cfg.workloadId === w.workloadId) {
      const converged =
        (cur.alive !== undefined && (cur.legacy?.specHash ?? cur.status?.specHash) === w.specHash) ||
        (cur.alive === undefined &&
          cur.want?.request !== undefined &&
          cur.status?.request === cur.want.request &&
          cur.status.specHash === w.specHash &&
          (cur.status.state === 'exited' || cur.status.state === 'failed'));
      if (converged) {
        emit('unchanged');
        return this.toStatus(cur);
      }
    }
    // Everything about the new module is checked before the running workload is touched.
    const bytes = await this.loadModule(w, memoryBytes);
    opts.signal?.throwIfAborted();
    const runner = this.runnerPath();
    if (!runner) {
      throw new OutpostError(
        RuntimeErrorCode.unavailable,
        'the WASM runner is not built (run node scripts/build.mjs)',
        {
          status: 503,
        },
      );
    }
    emit(cur.alive ? 'replacing' : 'installing', cur.alive ? `replacing the running module` : undefined);
    // A runner of an earlier version (one process per workload) is stopped; the shared one takes over.
    if (cur.legacy) {
      await this.stopProcess(cur.legacy.pid, 10, opts.signal);
      fs.rmSync(runnerFile(dir, 'lock'), { force: true });
    }
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(runnerFile(dir, 'module'), bytes);
    const cfg: RunnerConfig = {
      protocol: RUNNER_PROTOCOL,
      workloadId: w.workloadId,
      specHash: w.specHash,
      programName: w.component,
      args: w.args ?? [],
      env: w.env,
      memoryMaxBytes: memoryBytes,
      restart: {
        policy: w.restart?.policy ?? 'on-failure',
        initialDelayMs: w.restart?.initialDelayMs ?? this.opts.restart?.firstDelayMs ?? 500,
        maxDelayMs: w.restart?.maxDelayMs ?? this.opts.restart?.maxDelayMs ?? 30_000,
        maxRestarts: w.restart?.maxRestarts,
        resetAfterMs: this.opts.restart?.healthyAfterMs ?? 60_000,
      },
      logMaxBytes: this.opts.logMaxBytes ?? 8 * 1024 * 1024,
      stopGraceMs: 2000,
    };
    writeFileAtomic(runnerFile(dir, 'spec'), JSON.stringify(cfg, null, 2));
    const request = this.request(dir, { run: true, specHash: w.specHash });
    const status = await this.deliver(runner, dir, request, this.opts.startTimeoutMs ?? 10_000, opts.signal);
    this.log.info(
      { workloadId: w.workloadId, pid: status.pid, specHash: w.specHash },
      'wasm workload started',
    );
    emit(status.state === 'failed' ? 'failed' : 'started', status.message);
    return status;
  }

  /** Writes a new request for the workload (after its spec and module) and returns its id. */
  private request(dir: string, r: Omit<WorkloadRequest, 'request'>): string {
    const request = `${this.clock.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const want: WorkloadRequest = { request, ...r };
    writeFileAtomic(runnerFile(dir, 'want'), JSON.stringify(want));
    return request;
  }

  /**
   * Makes the runner act on the request: signals the live runner, or starts one (a runner starting acts
   * on every request not acted on yet), and waits until the workload's status answers the request and
   * is past `starting` (or the timeout; the status then says what is known).
   */
  private async deliver(
    runner: string,
    dir: string,
    request: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<WorkloadStatus> {
    const deadline = this.clock.monotonic() + timeoutMs;
    let signalled: { pid: number; at: number } | undefined;
    for (;;) {
      const host = this.host();
      const cur = this.current(dir, host);
      const st = cur.status;
      if (st?.request === request && st.state !== 'starting') return this.toStatus(cur);
      if (this.clock.monotonic() > deadline) return this.toStatus(cur);
      if (host === undefined) {
        await this.startRunner(runner);
        signalled = undefined;
      } else if (
        st?.request !== request &&
        (signalled?.pid !== host || this.clock.monotonic() - signalled.at > 1000)
      ) {
        // Signalled again now and then: a runner that was ending as the request came may have missed it.
        try {
          process.kill(host, RESCAN_SIGNAL);
        } catch {
          // ended meanwhile: the next round starts one
        }
        signalled = { pid: host, at: this.clock.monotonic() };
      }
      await sleep(20, signal);
    }
  }

  /** Starts the runner, once at a time; resolves when the new process holds the lock or has left. */
  private startRunner(runner: string): Promise<number | undefined> {
    this.starting ??= (async () => {
      try {
        const pid = await this.spawnRunner(runner);
        const until = this.clock.monotonic() + 5000;
        while (this.clock.monotonic() < until) {
          const host = this.host();
          if (host !== undefined) return host;
          if (!pidAlive(pid) || isZombie(pid)) return undefined;
          await sleep(10);
        }
        return undefined;
      } finally {
        this.starting = undefined;
      }
    })();
    return this.starting;
  }

  private validate(w: WorkloadSpec): number {
    const bad = (m: string) =>
      new OutpostError(RuntimeErrorCode.invalidSpec, `wasm workload ${JSON.stringify(w.workloadId)}: ${m}`, {
        status: 400,
      });
    if (typeof w.workloadId !== 'string' || !WORKLOAD_ID.test(w.workloadId)) throw bad('invalid workload id');
    if (!w.specHash) throw bad('specHash is missing');
    if (isImageArtifact(w.artifact)) throw bad('the artifact must be a local .wasm file, not an image');
    if (!WASM_LAYER_MEDIA_TYPES.includes(w.artifact.mediaType)) {
      throw bad(
        `media type ${w.artifact.mediaType} is not a WASM module (${WASM_LAYER_MEDIA_TYPES.join(', ')})`,
      );
    }
    for (const [k, v] of Object.entries(w.env ?? {})) {
      if (typeof v !== 'string') throw bad(`environment variable ${k} is not a string`);
      if (k === '' || k.includes('=') || k.includes('\0') || v.includes('\0'))
        throw bad(`environment variable ${JSON.stringify(k)} is malformed`);
    }
    for (const a of w.args ?? [])
      if (typeof a !== 'string' || a.includes('\0')) throw bad('arguments must be strings without NUL');
    const memory = w.limits?.memoryBytes ?? this.defaultMemory;
    if (!Number.isInteger(memory) || memory < WASM_PAGE || memory > this.maxMemory) {
      throw bad(`memory limit ${memory} must be an integer between ${WASM_PAGE} and ${this.maxMemory} bytes`);
    }
    return memory;
  }

  private async loadModule(w: WorkloadSpec, memoryBytes: number): Promise<Uint8Array> {
    const art = w.artifact as Exclude<WorkloadSpec['artifact'], { image: string }>;
    await verifyArtifact(art, `wasm workload ${w.workloadId}`);
    const raw = fs.readFileSync(art.path);
    let capped;
    try {
      capped = capModuleMemory(raw, Math.floor(memoryBytes / WASM_PAGE));
    } catch (e) {
      if (e instanceof MemoryLimitError) {
        throw new OutpostError(RuntimeErrorCode.memoryLimit, `wasm workload ${w.workloadId}: ${e.message}`, {
          status: 422,
          data: { memoryBytes },
        });
      }
      if (e instanceof WasmFormatError) {
        throw new OutpostError(RuntimeErrorCode.invalidSpec, `wasm workload ${w.workloadId}: ${e.message}`, {
          status: 400,
        });
      }
      throw e;
    }
    // Validated, not compiled: compiling would bring V8's WASM compilers and the module's code into the
    // agent's memory for nothing (the runner compiles it). The exports come from the binary itself.
    if (!wasmApi().validate(capped.bytes)) {
      throw new OutpostError(
        RuntimeErrorCode.invalidSpec,
        `wasm workload ${w.workloadId}: invalid module: it does not validate as WebAssembly`,
        { status: 400 },
      );
    }
    if (!readExports(capped.bytes).some((e) => e.name === '_start' && e.kind === 'function')) {
      throw new OutpostError(
        RuntimeErrorCode.invalidSpec,
        `wasm workload ${w.workloadId}: the module exports no _start (not a WASI command)`,
        {
          status: 400,
        },
      );
    }
    // The runner caps the memory itself when it loads the module: keep the original bytes on disk.
    return raw;
  }

  private spawnRunner(runner: string): Promise<number> {
    const stateDir = this.opts.stateDir;
    fs.mkdirSync(stateDir, { recursive: true });
    return new Promise((resolve, reject) => {
      const child = spawn(
        this.opts.nodePath ?? process.execPath,
        ['--no-warnings', ...RUNNER_NODE_FLAGS, runner, '--host', stateDir],
        {
          detached: true,
          stdio: 'ignore',
          cwd: stateDir,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ELECTRON_RUN_AS_NODE: '1' },
        },
      );
      child.once('error', (e) =>
        reject(
          new OutpostError(RuntimeErrorCode.unavailable, `cannot start the WASM runner: ${e.message}`, {
            cause: e,
            status: 503,
          }),
        ),
      );
      child.once('spawn', () => {
        child.unref();
        this.log.info({ pid: child.pid }, 'wasm runner started');
        resolve(child.pid!);
      });
    });
  }

  private async stopProcess(pid: number, timeoutSec: number, signal?: AbortSignal): Promise<void> {
    const gone = async (ms: number) => {
      const until = this.clock.monotonic() + ms;
      while (this.clock.monotonic() < until) {
        if (!pidAlive(pid) || isZombie(pid)) return true;
        await sleep(20, signal);
      }
      return !pidAlive(pid) || isZombie(pid);
    };
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    if (await gone(timeoutSec * 1000)) return;
    this.log.warn({ pid }, 'wasm runner did not stop in time; killing it');
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    await gone(5000);
  }

  async remove(workloadId: string, opts: RemoveOptions = {}): Promise<void> {
    const dir = this.dirFor(workloadId);
    if (!fs.existsSync(dir)) return;
    opts.onEvent?.({ workloadId, type: 'removing', at: this.clock.now() });
    const host = this.host();
    const cur = this.current(dir, host);
    if (cur.legacy) await this.stopProcess(cur.legacy.pid, opts.stopTimeoutSec ?? 10, opts.signal);
    else if (host !== undefined && cur.status?.pid === host) {
      // The runner stops the module and answers; the folder goes only after that (its files are open).
      const request = this.request(dir, { run: false, specHash: cur.cfg?.specHash ?? '' });
      const runner = this.runnerPath();
      if (runner) {
        const st = await this.deliver(runner, dir, request, (opts.stopTimeoutSec ?? 10) * 1000, opts.signal);
        if (ACTIVE_STATES.includes(st.state as RunnerState))
          this.log.warn({ workloadId }, 'the wasm runner did not confirm the stop in time');
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
    // The runner notices the folder is gone, too (on its next look), and ends once nothing is left to run.
    if (host !== undefined) {
      try {
        process.kill(host, RESCAN_SIGNAL);
      } catch {
        // gone
      }
    }
    this.log.info({ workloadId }, 'wasm workload removed');
    opts.onEvent?.({ workloadId, type: 'removed', at: this.clock.now() });
  }

  async status(workloadId: string): Promise<WorkloadStatus> {
    return this.toStatus(this.current(this.dirFor(workloadId)), undefined, workloadId);
  }

  async list(): Promise<WorkloadStatus[]> {
    let names: string[];
    try {
      names = fs.readdirSync(this.opts.stateDir);
    } catch {
      return [];
    }
    const out: WorkloadStatus[] = [];
    const host = this.host();
    for (const n of names.filter(isWorkloadEntry).sort()) {
      const cur = this.current(path.join(this.opts.stateDir, n), host);
      if (cur.cfg) out.push(this.toStatus(cur));
    }
    return out;
  }

  private toStatus(cur: Current, note?: string, workloadId?: string): WorkloadStatus {
    const id = cur.cfg?.workloadId ?? workloadId ?? '';
    if (!cur.cfg)
      return { workloadId: id, kind: 'wasm', state: 'removed', since: this.clock.now(), restarts: 0 };
    const st = cur.status?.pid === cur.alive || cur.alive === undefined ? cur.status : undefined;
    const base: WorkloadStatus = {
      workloadId: id,
      kind: 'wasm',
      state: 'unknown',
      specHash: cur.legacy?.specHash ?? st?.specHash ?? cur.cfg.specHash,
      since: st?.since ?? this.clock.now(),
      restarts: st?.restarts ?? 0,
      logsPath: runnerFile(cur.dir, 'output'),
      ...(cur.alive ? { pid: cur.alive, handle: `pid:${cur.alive}` } : {}),
    };
    const last = st?.lastExit;
    // A request the live runner has not answered yet: it is being installed.
    if (cur.alive === undefined && cur.want && st?.request !== cur.want.request && this.host() !== undefined)
      return { ...base, state: 'installing', message: note };
    if (cur.alive !== undefined) {
      switch (st?.state) {
        case 'running':
          return { ...base, state: 'running' };
        case 'restarting':
          return { ...base, state: 'restarting', exitCode: last?.exitCode, message: last?.message };
        default:
          return { ...base, state: 'installing', message: note };
      }
    }
    // The runner writes exited and failed as it ends by its policy. Anything else without a live runner
    // means it was ended from outside (killed, or stopped by a signal the agent did not send: a host
    // shutdown, an operator): lost, and started again by the agent (the agent itself stops a runner only
    // to replace or remove it).
    switch (st?.state) {
      case 'exited':
        return { ...base, state: 'exited', exitCode: last?.exitCode, message: last?.message };
      case 'failed':
        return { ...base, state: 'failed', exitCode: last?.exitCode, message: last?.message };
      case 'stopped':
        return { ...base, state: 'exited', lost: true, message: last?.message ?? 'stopped' };
      case undefined:
        return {
          ...base,
          state: 'failed',
          ...(note ? {} : { lost: true }),
          message: note ?? 'the runner is not running and left no status',
        };
      default:
        return {
          ...base,
          state: 'failed',
          ...(note ? {} : { lost: true }),
          message: note ?? `the runner (pid ${st?.pid}) is gone while the module was ${st?.state}`,
        };
    }
  }
}

/** States in which the runner still runs (or is about to run again) the workload's module. */
const ACTIVE_STATES: readonly RunnerState[] = ['starting', 'running', 'restarting'];

/**
 * V8 settings of the runner process: its own JavaScript is small and mostly idle (every module thread has
 * its own limits), so a small young generation (measured: bench/agent-memory, ADR 0544).
 */
const RUNNER_NODE_FLAGS = ['--max-semi-space-size=1'];

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

export function createWasmAdapter(opts: WasmAdapterOptions): WasmAdapter {
  return new WasmAdapter(opts);
}
