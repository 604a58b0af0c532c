import { spawn } from 'node:child_process';
import { OutpostError } from '../../lib/errors/index.js';
import { RuntimeErrorCode } from './types.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command (SIGTERM, then SIGKILL after 2 s) when it runs longer (default 120 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  input?: string;
  /** Keep at most this many bytes of each stream (the tail; default 1 MiB). */
  maxOutputBytes?: number;
  /** Called with the child's pid once it runs (callers record it to find the process after a crash). */
  onSpawn?: (pid: number) => void;
  /** Run the command in its own process group (pid = pgid), so that it and its children can be ended together. */
  ownProcessGroup?: boolean;
}

/**
 * Runs a program with an argument vector (never a shell) and collects its output. Rejects only when the
 * program cannot be started (`runtime/unavailable`), times out (`timeout`) or is aborted (`cancelled`);
 * a non-zero exit is returned, callers decide (see {@link checkCommand}).
 */
export function runCommand(
  file: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandResult> {
  const max = opts.maxOutputBytes ?? 1 << 20;
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new OutpostError('cancelled', `${file} ${args[0] ?? ''} was cancelled before it started`));
      return;
    }
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      detached: opts.ownProcessGroup ?? false,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    child.once('spawn', () => {
      if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    const keep = (chunks: Buffer[], len: number, c: Buffer): number => {
      chunks.push(c);
      len += c.length;
      while (len > max && chunks.length > 1) len -= chunks.shift()!.length;
      return len;
    };
    child.stdout!.on('data', (c: Buffer) => (outLen = keep(out, outLen, c)));
    child.stderr!.on('data', (c: Buffer) => (errLen = keep(err, errLen, c)));
    let why: OutpostError | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (e: OutpostError) => {
      if (why) return;
      why = e;
      const kill = (sig: NodeJS.Signals) => {
        try {
          // In its own process group the command's children are ended with it.
          if (opts.ownProcessGroup && child.pid !== undefined) process.kill(-child.pid, sig);
          else child.kill(sig);
        } catch {
          // already gone
        }
      };
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), 2000);
      killTimer.unref();
    };
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const timer = setTimeout(
      () =>
        stop(new OutpostError('timeout', `${describe(file, args)} did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onAbort = () => stop(new OutpostError('cancelled', `${describe(file, args)} was cancelled`));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      done();
      reject(
        e.code === 'ENOENT'
          ? new OutpostError(
              RuntimeErrorCode.unavailable,
              `${file} was not found (is it installed and on PATH?)`,
              {
                cause: e,
                status: 503,
                data: { program: file },
              },
            )
          : new OutpostError(RuntimeErrorCode.unavailable, `${file} could not be started: ${e.message}`, {
              cause: e,
              status: 503,
              data: { program: file },
            }),
      );
    });
    child.on('close', (code, signal) => {
      done();
      if (why) {
        reject(why);
        return;
      }
      resolve({
        code: code ?? (signal ? 128 + 9 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** The last non-empty line of a tool's stderr (or stdout), for one-line error messages. */
export function lastLine(text: string): string {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  return lines[lines.length - 1] ?? '';
}

/** Throws `runtime/command-failed` with the last stderr line when the command exited non-zero. */
export function checkCommand(what: string, r: CommandResult): CommandResult {
  if (r.code === 0) return r;
  const line = lastLine(r.stderr) || lastLine(r.stdout) || `exit code ${r.code}`;
  throw new OutpostError(RuntimeErrorCode.commandFailed, `${what} failed: ${line}`, {
    status: 502,
    data: { exitCode: r.code, stderr: r.stderr.slice(-4000) },
  });
}

function describe(file: string, args: readonly string[]): string {
  return [file, ...args.slice(0, 2)].join(' ');
}
