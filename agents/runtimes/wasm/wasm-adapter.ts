import { spawn } from 'node:child_process';
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
  RUNNER_PROTOCOL,
  runnerFile,
  type RunnerConfig,
  type RunnerLock,
  type RunnerStatus,
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
  lock?: RunnerLock;
  status?: RunnerStatus;
  /** The pid of the live runner, if one runs. */
  alive?: number;
}

/**
 * WASM workloads (Margo `custom` profile, `x-outpost-extensions.runtime: wasm`): every workload runs in
 * its own detached runner process (runner.ts) so it survives agent restarts; the adapter talks to it
 * only through the files in the workload's state directory (runner-protocol.ts) and signals.
 */
export class WasmAdapter implements RuntimeAdapter {
  readonly kind = 'wasm' as const;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly defaultMemory: number;
  private readonly maxMemory: number;

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

  private current(dir: string): Current {
    const cfg = readRunnerConfig(dir);
    const lock = readJsonFile<RunnerLock>(runnerFile(dir, 'lock'));
    const status = readJsonFile<RunnerStatus>(runnerFile(dir, 'status'));
    const alive = lock && isRunnerProcess(lock.pid, dir) ? lock.pid : undefined;
    return { dir, cfg, lock, status, alive };
  }

  async apply(w: WorkloadSpec, opts: ApplyOptions = {}): Promise<WorkloadStatus> {
    const emit = (type: WorkloadEvent['type'], message?: string) =>
      opts.onEvent?.({ workloadId: w.workloadId, type, at: this.clock.now(), message });
    const memoryBytes = this.validate(w);
    const dir = this.dirFor(w.workloadId);
    const cur = this.current(dir);
    if (!opts.force && cur.cfg?.specHash === w.specHash && cur.cfg.workloadId === w.workloadId) {
      const converged =
        (cur.alive !== undefined && cur.lock?.specHash === w.specHash) ||
        (cur.alive === undefined &&
          cur.status?.specHash === w.specHash &&
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
    emit(cur.alive ? 'replacing' : 'installing', cur.alive ? `replacing runner pid ${cur.alive}` : undefined);
    if (cur.alive) await this.stopRunner(cur.alive, 10, opts.signal);
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
      stopGraceMs: 300,
    };
    writeFileAtomic(runnerFile(dir, 'spec'), JSON.stringify(cfg, null, 2));
    fs.rmSync(runnerFile(dir, 'status'), { force: true });
    const pid = await this.spawnRunner(runner, dir);
    this.log.info({ workloadId: w.workloadId, pid, specHash: w.specHash }, 'wasm runner started');
    const status = await this.waitStarted(dir, pid, opts.signal);
    emit(status.state === 'failed' ? 'failed' : 'started', status.message);
    return status;
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

  private spawnRunner(runner: string, dir: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.opts.nodePath ?? process.execPath, ['--no-warnings', runner, dir], {
        detached: true,
        stdio: 'ignore',
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ELECTRON_RUN_AS_NODE: '1' },
      });
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
        resolve(child.pid!);
      });
    });
  }

  private async waitStarted(dir: string, pid: number, signal?: AbortSignal): Promise<WorkloadStatus> {
    const deadline = this.clock.monotonic() + (this.opts.startTimeoutMs ?? 10_000);
    for (;;) {
      const cur = this.current(dir);
      const st = cur.status;
      if (st?.pid === pid && st.state !== 'starting') return this.toStatus(cur);
      // The runner found another live runner holding the lock and left: that one is the workload.
      if (!pidAlive(pid) && cur.alive !== undefined && cur.alive !== pid) return this.toStatus(cur);
      if (!pidAlive(pid) && st?.pid !== pid) {
        return this.toStatus(
          cur,
          `the runner (pid ${pid}) ended before it reported; see ${runnerFile(dir, 'runnerLog')}`,
        );
      }
      if (this.clock.monotonic() > deadline) return this.toStatus(cur);
      await sleep(20, signal);
    }
  }

  private async stopRunner(pid: number, timeoutSec: number, signal?: AbortSignal): Promise<void> {
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
    const cur = this.current(dir);
    if (cur.alive) await this.stopRunner(cur.alive, opts.stopTimeoutSec ?? 10, opts.signal);
    fs.rmSync(dir, { recursive: true, force: true });
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
    for (const n of names.sort()) {
      const cur = this.current(path.join(this.opts.stateDir, n));
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
      specHash: cur.lock?.specHash ?? st?.specHash ?? cur.cfg.specHash,
      since: st?.since ?? this.clock.now(),
      restarts: st?.restarts ?? 0,
      logsPath: runnerFile(cur.dir, 'output'),
      ...(cur.alive ? { pid: cur.alive, handle: `pid:${cur.alive}` } : {}),
    };
    const last = st?.lastExit;
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
