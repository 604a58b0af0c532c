import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../../lib/log/index.js';
import type { Clock } from '../../lib/base/index.js';
import type { NatsState } from '../../lib/contract/index.js';
import { OutpostError } from '../../lib/errors/index.js';
import { renderNatsConfig, type NatsServerConfigInput } from './server-config.js';
import { connectHost, freePort } from './ports.js';

/**
 * Runs nats-server as a supervised child (ADR 0162): generated configuration, health checks on the
 * loopback monitoring port, restart with exponential backoff after a crash or a failed health check,
 * configuration reload without dropping connections, clean stop (SIGTERM, then SIGKILL).
 *
 * No orphans: nats-server runs under a tiny `sh` wrapper whose stdin is a pipe from this process. If
 * this process dies in any way (even SIGKILL) the pipe closes and the wrapper kills nats-server.
 */

export interface SupervisorTiming {
  /** First restart delay; doubles per consecutive failure up to `backoffMaxMs`. */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** A run this long resets the backoff. */
  backoffResetAfterMs: number;
  /** Consecutive failures after which the state says `failed` (restarts continue at the max delay). */
  failedAfter: number;
  startTimeoutMs: number;
  healthIntervalMs: number;
  /** How long a health check waits for nats-server's answer. */
  healthTimeoutMs: number;
  /** Consecutive failed health checks that make the supervisor kill and restart the server. */
  healthFailures: number;
  stopTimeoutMs: number;
}

export const DEFAULT_TIMING: SupervisorTiming = {
  backoffInitialMs: 250,
  backoffMaxMs: 30_000,
  backoffResetAfterMs: 60_000,
  failedAfter: 5,
  startTimeoutMs: 20_000,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 2_000,
  healthFailures: 3,
  stopTimeoutMs: 5_000,
};

export interface NatsPorts {
  client: number;
  monitor: number;
  leaf?: number | undefined;
}

export interface SupervisorOptions {
  binary: string;
  /** Folder for the generated configuration (`nats-server.conf`, mode 0600). */
  dir: string;
  /**
   * The server's configuration. `port`, `monitorPort` and `leafListen.port` may be 0: free ports are
   * chosen once, on the first start, and kept for every restart (clients and leaves reconnect there).
   */
  config: NatsServerConfigInput;
  logger: Logger;
  clock: Clock;
  timing?: Partial<SupervisorTiming>;
}

export interface NatsSupervisor {
  /** Starts in the background (state `starting`); idempotent. */
  start(): Promise<void>;
  /** Resolves when the server is running and healthy; rejects on timeout or stop. */
  ready(timeoutMs?: number): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after the timeout); no restart afterwards. */
  stop(): Promise<void>;
  /**
   * Replaces the configuration (ports stay) and, when the server runs, reloads it (SIGHUP): users
   * added or removed take effect without dropping other connections. Rejects with the server's
   * message when it refuses the new configuration.
   */
  reconfigure(update: (current: NatsServerConfigInput) => NatsServerConfigInput): Promise<void>;
  state(): NatsState;
  onState(listener: (s: NatsState) => void): () => void;
  /** The nats-server process id while it runs. */
  pid(): number | undefined;
  ports(): NatsPorts | undefined;
  clientUrl(): string | undefined;
  monitorUrl(): string | undefined;
  /** The last lines nats-server wrote (for diagnostics). */
  recentLog(): string[];
}

const WRAPPER = [
  'exec 3<&0',
  '"$@" </dev/null 3<&- &',
  'child=$!',
  'echo "pid $child"',
  '( while read -r _; do :; done <&3; kill -KILL "$child" 2>/dev/null ) &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$child"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

const SIGNALS = Object.entries(os.constants.signals) as [string, number][];

export function createNatsSupervisor(options: SupervisorOptions): NatsSupervisor {
  const { binary, dir, logger, clock } = options;
  const timing: SupervisorTiming = { ...DEFAULT_TIMING, ...options.timing };
  const configFile = path.join(dir, 'nats-server.conf');
  let config = options.config;
  let ports: NatsPorts | undefined;
  let state: NatsState = { state: 'stopped', url: null, message: null, since: clock.now(), restarts: 0 };
  const listeners = new Set<(s: NatsState) => void>();
  const log: string[] = [];
  let proc: ChildProcess | undefined;
  let natsPid: number | undefined;
  let stopping = false;
  let started = false;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let runningSince: number | undefined;
  let exitWaiters: (() => void)[] = [];
  let reloadWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  /** A reconfiguration that arrived while the server was starting: reload once it runs. */
  let reloadPending = false;
  /** Wakes a start waiting for health when nats-server says it is ready (no fixed wait). */
  let readyLine: (() => void) | undefined;

  const tlsScheme = () => (config.tls ? 'tls' : 'nats');
  const clientUrl = () =>
    ports ? `${tlsScheme()}://${connectHost(config.host)}:${ports.client}` : undefined;

  const setState = (s: NatsState['state'], message: string | null = null) => {
    state = {
      state: s,
      url: s === 'stopped' || s === 'failed' ? null : (clientUrl() ?? null),
      message,
      since: clock.now(),
      restarts: state.restarts,
    };
    for (const l of listeners) {
      try {
        l(state);
      } catch (err) {
        logger.warn({ err }, 'nats state listener failed');
      }
    }
  };

  const writeConfig = () => {
    if (!ports) throw new Error('ports not chosen');
    const concrete: NatsServerConfigInput = {
      ...config,
      port: ports.client,
      monitorPort: ports.monitor,
      ...(config.leafListen && ports.leaf ? { leafListen: { ...config.leafListen, port: ports.leaf } } : {}),
    };
    const text = renderNatsConfig(concrete);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(config.storeDir, { recursive: true, mode: 0o700 });
    const tmp = `${configFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.renameSync(tmp, configFile);
  };

  const choosePorts = async () => {
    if (ports) return;
    const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
    ports = {
      client: config.port || (await freePort(host)),
      monitor: config.monitorPort || (await freePort('127.0.0.1')),
      leaf: config.leafListen
        ? config.leafListen.port || (await freePort(config.leafListen.host))
        : undefined,
    };
  };

  const onLine = (line: string) => {
    log.push(line);
    if (log.length > 40) log.shift();
    if (/\[(ERR|FTL)\]/.test(line)) logger.warn({ nats: line }, 'nats-server');
    else logger.debug({ nats: line }, 'nats-server');
    if (line.includes('Server is ready')) readyLine?.();
    if (line.includes('Reloaded server configuration')) {
      const w = reloadWaiters;
      reloadWaiters = [];
      for (const x of w) x.resolve();
    } else if (line.includes('Failed to reload server configuration')) {
      const w = reloadWaiters;
      reloadWaiters = [];
      const msg = line.replace(/^.*Failed to reload server configuration:\s*/, '');
      for (const x of w)
        x.reject(new OutpostError('nats-unavailable', `nats-server refused the new configuration: ${msg}`));
    }
  };

  const lastError = () => {
    for (let i = log.length - 1; i >= 0; i--) {
      const l = log[i]!;
      if (/\[(ERR|FTL)\]/.test(l) || /^nats-server:/.test(l)) return l.replace(/^\[\d+\] \S+ \S+ /, '');
    }
    return undefined;
  };

  const spawnServer = () => {
    writeConfig();
    const child = spawn('/bin/sh', ['-c', WRAPPER, 'outpost-nats', binary, '-c', configFile], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    proc = child;
    natsPid = undefined;
    child.stdin.on('error', () => {
      /* the wrapper is gone */
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^pid (\d+)$/.exec(line);
      if (m && natsPid === undefined) natsPid = Number(m[1]);
    });
    readline.createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', (err) => {
      onLine(`nats-server: cannot start ${binary}: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      const wasPid = natsPid;
      natsPid = undefined;
      proc = undefined;
      child.stdin.destroy();
      clearTimeout(healthTimer);
      const waiters = exitWaiters;
      exitWaiters = [];
      for (const w of waiters) w();
      for (const w of reloadWaiters)
        w.reject(new OutpostError('nats-unavailable', 'nats-server exited during a reload'));
      reloadWaiters = [];
      if (stopping) return;
      const how =
        code !== null && code >= 128
          ? `signal ${SIGNALS.find(([, n]) => n === code - 128)?.[0] ?? code - 128}`
          : signal
            ? `signal ${signal}`
            : `exit code ${code}`;
      const ranFor = runningSince === undefined ? 0 : clock.monotonic() - runningSince;
      runningSince = undefined;
      if (ranFor >= timing.backoffResetAfterMs) failures = 0;
      failures++;
      const delay = Math.min(timing.backoffMaxMs, timing.backoffInitialMs * 2 ** (failures - 1));
      const detail = lastError();
      const message = `nats-server (pid ${wasPid ?? '?'}) stopped with ${how}${detail ? ` (${detail})` : ''}; restarting in ${(delay / 1000).toFixed(1)} s`;
      logger.warn({ code, signal, failures, delayMs: delay }, message);
      state = { ...state, restarts: state.restarts + 1 };
      setState(failures >= timing.failedAfter ? 'failed' : 'restarting', message);
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) launch();
      }, delay);
      restartTimer.unref?.();
    });
    return child;
  };

  /**
   * GET /healthz on the monitoring port with node:http (Node's `fetch` would load undici and compile its
   * WASM parser on the first check, in the middle of the server's start).
   *
   * A check that times out while this process was itself too busy to hear the answer says nothing about
   * nats-server (ADR 0508): when the timeout fires late (the event loop was blocked past the deadline),
   * or the answer arrives within the next turn of the loop, the check is `inconclusive`, neither a
   * failure nor a success. Under a deploy to thousands of nodes the server's own loop lagged for seconds
   * and three such checks killed a healthy nats-server, dropping every node's bus connection.
   */
  const health = (): Promise<'ok' | 'failed' | 'inconclusive'> => {
    if (!ports) return Promise.resolve('failed');
    const port = ports.monitor;
    const limit = timing.healthTimeoutMs;
    return new Promise((resolve) => {
      let settled = false;
      const settle = (r: 'ok' | 'failed' | 'inconclusive') => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(r);
      };
      const sentAt = performance.now();
      const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
        res.resume();
        res.on('end', () => settle(res.statusCode === 200 ? 'ok' : 'failed'));
        res.on('error', () => settle('failed'));
      });
      req.on('error', () => settle('failed'));
      const deadline = setTimeout(() => {
        const late = performance.now() - sentAt - limit;
        if (late > Math.max(250, limit / 4)) {
          req.destroy();
          settle('inconclusive');
          return;
        }
        // Answers already received wait in the socket until the loop's next poll phase: give them it.
        setImmediate(() =>
          setImmediate(() => {
            if (settled) return;
            req.destroy();
            settle('failed');
          }),
        );
      }, limit);
      deadline.unref?.();
    });
  };

  const killNow = (sig: NodeJS.Signals) => {
    if (natsPid === undefined) {
      proc?.kill(sig);
      return;
    }
    try {
      process.kill(natsPid, sig);
    } catch {
      /* already gone */
    }
  };

  const launch = () => {
    let child: ChildProcess;
    const startedAt = clock.monotonic();
    try {
      child = spawnServer();
    } catch (err) {
      setState('failed', `cannot write the nats-server configuration: ${(err as Error).message}`);
      return;
    }
    const waitHealthy = async () => {
      while (!stopping && proc === child) {
        if ((await health()) === 'ok') {
          if (stopping || proc !== child) return;
          runningSince = clock.monotonic();
          setState('running');
          // readyMs: from writing its configuration and spawning it to its first healthy answer.
          const readyMs = Math.round(clock.monotonic() - startedAt);
          logger.info({ url: clientUrl(), pid: natsPid, readyMs }, 'nats-server running');
          if (reloadPending) {
            reloadPending = false;
            writeConfig();
            killNow('SIGHUP');
          }
          scheduleHealth(child, 0);
          return;
        }
        if (clock.monotonic() - startedAt > timing.startTimeoutMs) {
          onLine(`nats-server: not healthy within ${timing.startTimeoutMs} ms`);
          killNow('SIGKILL');
          return;
        }
        // Check again when nats-server logs that it is ready, or after 50 ms (its log may be quiet).
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            readyLine = undefined;
            r();
          }, 50);
          readyLine = () => {
            clearTimeout(t);
            readyLine = undefined;
            r();
          };
        });
      }
    };
    void waitHealthy();
  };

  const scheduleHealth = (child: ChildProcess, failed: number) => {
    healthTimer = setTimeout(() => {
      void (async () => {
        if (stopping || proc !== child) return;
        const verdict = await health();
        if (stopping || proc !== child) return;
        if (verdict === 'inconclusive') {
          scheduleHealth(child, failed);
          return;
        }
        if (verdict === 'ok') {
          if (runningSince !== undefined && clock.monotonic() - runningSince >= timing.backoffResetAfterMs)
            failures = 0;
          scheduleHealth(child, 0);
          return;
        }
        if (failed + 1 >= timing.healthFailures) {
          onLine(`nats-server: ${failed + 1} failed health checks`);
          killNow('SIGKILL');
          return;
        }
        scheduleHealth(child, failed + 1);
      })();
    }, timing.healthIntervalMs);
    healthTimer.unref?.();
  };

  const sup: NatsSupervisor = {
    async start() {
      if (started) return;
      started = true;
      stopping = false;
      await choosePorts();
      setState('starting');
      launch();
    },
    ready(timeoutMs = timing.startTimeoutMs) {
      if (state.state === 'running') return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(
            new OutpostError(
              'timeout',
              `nats-server did not become ready within ${timeoutMs} ms (${state.state}${state.message ? `: ${state.message}` : ''})`,
            ),
          );
        }, timeoutMs);
        const off = sup.onState((s) => {
          if (s.state === 'running') {
            clearTimeout(timer);
            off();
            resolve();
          } else if (s.state === 'stopped') {
            clearTimeout(timer);
            off();
            reject(new OutpostError('nats-unavailable', 'nats-server was stopped'));
          }
        });
      });
    },
    async stop() {
      stopping = true;
      started = false;
      clearTimeout(restartTimer);
      clearTimeout(healthTimer);
      const child = proc;
      if (child) {
        const exited = new Promise<void>((r) => exitWaiters.push(r));
        killNow('SIGTERM');
        const t = setTimeout(() => killNow('SIGKILL'), timing.stopTimeoutMs);
        await exited;
        clearTimeout(t);
      }
      if (state.state !== 'stopped') setState('stopped');
    },
    async reconfigure(update) {
      const next = update(config);
      config = next;
      if (!proc || !ports) return;
      if (natsPid === undefined || state.state !== 'running') {
        // SIGHUP before nats-server installs its handler would kill it: reload once it is running.
        reloadPending = true;
        return;
      }
      writeConfig();
      const applied = new Promise<void>((resolve, reject) => reloadWaiters.push({ resolve, reject }));
      const timeout = new Promise<void>((_, reject) => {
        const t = setTimeout(
          () => reject(new OutpostError('timeout', 'nats-server did not confirm the reload within 10 s')),
          10_000,
        );
        t.unref?.();
        void applied.finally(() => clearTimeout(t)).catch(() => undefined);
      });
      killNow('SIGHUP');
      await Promise.race([applied, timeout]);
    },
    state: () => state,
    onState(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    pid: () => natsPid,
    ports: () => ports,
    clientUrl,
    monitorUrl: () => (ports ? `http://127.0.0.1:${ports.monitor}` : undefined),
    recentLog: () => [...log],
  };
  return sup;
}
