import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { OutpostError } from '../../lib/errors/index.js';
import type { LogsReply, LogsRequest } from '../../lib/bus/index.js';
import { safeName } from '../runtimes/names.js';
import type { AgentPaths } from './home.js';
import { readStateFile, type DeploymentRecord } from './state.js';

/**
 * The output of a deployment's workloads on this node (ADR 0016), read where each runtime keeps it: a
 * WASM module's stdout and stderr in its runner's `output.log` (and the rotated `output.log.1`), a
 * container's and a compose service's through `podman logs`. Used by `edgectl agent logs` on the node
 * and by the agent's answer to a logs request over the site bus (the console's Logs view). Helm
 * releases log in their cluster (`kubectl logs`), which the agent does not reach.
 */

/** One workload of the deployment, as the agent applied (or planned) it. */
export interface LogSource {
  component: string;
  kind: string;
  workloadId: string;
}

export interface ComponentLogs {
  component: string;
  kind: string;
  /** The last lines, oldest first, without their line ends. */
  lines: string[];
  /** More lines came before these (cut by `tail` or the byte limit). */
  truncated: boolean;
  /** Why there are no lines to show (not started yet, a runtime that keeps none here). */
  note?: string;
}

export interface LogOptions {
  /** Only this component. */
  component?: string;
  /** At most this many lines per component (default 100). */
  tail?: number;
  /** At most this many bytes per component (default 256 KiB). */
  maxBytes?: number;
  /** The podman command (default `podman`). */
  podman?: string;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_TAIL = 100;
export const MAX_TAIL = 10_000;
const DEFAULT_MAX_BYTES = 256 * 1024;

/**
 * The deployment `query` names on this node: its id, its name (`metadata.name`), or a prefix of either
 * that only one deployment has (`hello-wasm` for `hello-wasm-1a2b3c4d`).
 */
export function findDeployment(paths: AgentPaths, query: string): DeploymentRecord {
  let state;
  try {
    state = readStateFile(paths.stateFile);
  } catch (err) {
    throw new OutpostError('invalid-input', (err as Error).message);
  }
  const all = Object.values(state?.deployments ?? {});
  const exact = all.filter((d) => d.deploymentId === query || d.name === query);
  if (exact.length === 1) return exact[0]!;
  const prefixed =
    exact.length > 1
      ? exact
      : all.filter((d) => d.deploymentId.startsWith(query) || d.name.startsWith(query));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length === 0)
    throw new OutpostError(
      'not-found',
      all.length === 0
        ? `no deployment "${query}" on this node (${paths.home} has none; edgectl agent status lists what the agent runs)`
        : `no deployment "${query}" on this node; it has ${all.map((d) => `${d.name || d.deploymentId} (${d.deploymentId})`).join(', ')}`,
      { data: { deployment: query } },
    );
  throw new OutpostError(
    'invalid-input',
    `"${query}" names ${prefixed.length} deployments on this node: ${prefixed.map((d) => `${d.name} (${d.deploymentId})`).join(', ')}; give its id`,
    { data: { deployment: query } },
  );
}

/** The workloads of a deployment: those on the host, else those of its plan (still installing). */
export function logSources(d: DeploymentRecord, component?: string): LogSource[] {
  const seen = new Map<string, LogSource>();
  for (const w of d.workloads)
    seen.set(w.component, { component: w.component, kind: w.kind, workloadId: w.workloadId });
  for (const p of d.plan ?? [])
    if (!seen.has(p.component))
      seen.set(p.component, { component: p.component, kind: p.kind, workloadId: p.spec.workloadId });
  const all = [...seen.values()];
  if (component === undefined) return all;
  const one = all.filter((s) => s.component === component);
  if (one.length === 0)
    throw new OutpostError(
      'not-found',
      `deployment ${d.name || d.deploymentId} has no component "${component}"${all.length ? ` (it has ${all.map((s) => s.component).join(', ')})` : ''}`,
      { data: { component } },
    );
  return one;
}

export function checkTail(tail: number | undefined): number {
  const n = tail ?? DEFAULT_TAIL;
  if (!Number.isInteger(n) || n < 0 || n > MAX_TAIL)
    throw new OutpostError(
      'invalid-input',
      `tail must be a whole number from 0 to ${MAX_TAIL}, not ${String(tail)}`,
    );
  return n;
}

/** The WASM runner's output files of a workload, oldest first. */
export function wasmOutputFiles(paths: AgentPaths, workloadId: string): string[] {
  const dir = path.join(paths.workloadsDir, 'wasm', safeName(workloadId));
  return [path.join(dir, 'output.log.1'), path.join(dir, 'output.log')];
}

/** The container names of a workload: its container, or its compose project's containers. */
async function containerNames(source: LogSource, o: LogOptions): Promise<string[]> {
  if (source.kind === 'container') return [safeName(source.workloadId, 'outpost-', 100)];
  const project = safeName(source.workloadId, 'outpost-');
  const r = await run(
    o.podman ?? 'podman',
    ['ps', '-a', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Names}}'],
    o.env,
    DEFAULT_MAX_BYTES,
  );
  if (r.code !== 0) throw new OutpostError('runtime/command-failed', `podman ps: ${lastLine(r.stderr)}`);
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** The last lines of every workload of `d` (or of one component). */
export async function readWorkloadLogs(
  paths: AgentPaths,
  d: DeploymentRecord,
  o: LogOptions = {},
): Promise<ComponentLogs[]> {
  const tail = checkTail(o.tail);
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const out: ComponentLogs[] = [];
  for (const s of logSources(d, o.component)) {
    const base = { component: s.component, kind: s.kind };
    if (s.kind === 'wasm') {
      const text = readTailBytes(wasmOutputFiles(paths, s.workloadId), maxBytes);
      if (text === undefined) {
        out.push({
          ...base,
          lines: [],
          truncated: false,
          note: 'no output yet (the module has not started)',
        });
        continue;
      }
      out.push({ ...base, ...lastLines(text.text, tail, text.cut) });
    } else if (s.kind === 'container' || s.kind === 'compose') {
      const names = await containerNames(s, o);
      if (names.length === 0) {
        out.push({ ...base, lines: [], truncated: false, note: 'no container yet' });
        continue;
      }
      const lines: string[] = [];
      let truncated = false;
      for (const name of names) {
        const r = await run(o.podman ?? 'podman', ['logs', '--tail', String(tail), name], o.env, maxBytes);
        if (r.code !== 0) {
          out.push({
            ...base,
            lines: [],
            truncated: false,
            note: `podman logs ${name}: ${lastLine(r.stderr)}`,
          });
          continue;
        }
        const got = lastLines(r.stdout + r.stderr, tail, r.cut);
        truncated ||= got.truncated;
        lines.push(...(names.length > 1 ? got.lines.map((l) => `${name}: ${l}`) : got.lines));
      }
      out.push({
        ...base,
        lines: tail === 0 ? [] : lines.slice(-tail),
        truncated: truncated || lines.length > tail,
      });
    } else {
      out.push({
        ...base,
        lines: [],
        truncated: false,
        note: `the ${s.kind} runtime keeps no output on the node (a Helm release logs in its cluster: kubectl logs)`,
      });
    }
  }
  return out;
}

/**
 * Prints what the workloads write from now on (after the last `tail` lines) until `signal` aborts:
 * WASM output files are polled (a rotation starts the file over), containers are followed by `podman logs
 * --follow`.
 */
export async function followWorkloadLogs(
  paths: AgentPaths,
  d: DeploymentRecord,
  o: LogOptions & { signal: AbortSignal; onLine(component: string, line: string): void; pollMs?: number },
): Promise<void> {
  const tail = checkTail(o.tail);
  const sources = logSources(d, o.component);
  const tasks = sources.map(async (s) => {
    const emit = (line: string) => o.onLine(s.component, line);
    if (s.kind === 'wasm')
      return followFile(wasmOutputFiles(paths, s.workloadId), tail, emit, o.signal, o.pollMs ?? 250);
    if (s.kind === 'container' || s.kind === 'compose') {
      const names = await containerNames(s, o);
      await Promise.all(
        names.map((name) =>
          followCommand(
            o.podman ?? 'podman',
            ['logs', '--follow', '--tail', String(tail), name],
            names.length > 1 ? (l) => emit(`${name}: ${l}`) : emit,
            o.env,
            o.signal,
          ),
        ),
      );
    }
  });
  await Promise.all(tasks);
}

function readTailBytes(files: string[], maxBytes: number): { text: string; cut: boolean } | undefined {
  const chunks: Buffer[] = [];
  let left = maxBytes;
  let cut = false;
  let any = false;
  for (const f of [...files].reverse()) {
    let fd: number;
    try {
      fd = fs.openSync(f, 'r');
    } catch {
      continue;
    }
    any = true;
    try {
      const size = fs.fstatSync(fd).size;
      const n = Math.min(size, left);
      if (n < size) cut = true;
      const buf = Buffer.alloc(n);
      fs.readSync(fd, buf, 0, n, size - n);
      chunks.unshift(buf);
      left -= n;
    } finally {
      fs.closeSync(fd);
    }
    if (left <= 0) {
      cut = true;
      break;
    }
  }
  return any ? { text: Buffer.concat(chunks).toString('utf8'), cut } : undefined;
}

function lastLines(text: string, tail: number, cut: boolean): { lines: string[]; truncated: boolean } {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  // A cut at the front leaves a partial first line.
  if (cut && all.length > 0) all.shift();
  const lines = tail === 0 ? [] : all.slice(-tail);
  return { lines: lines.map((l) => l.replace(/\r$/, '')), truncated: cut || lines.length < all.length };
}

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv | undefined,
  maxBytes: number,
): Promise<{ code: number; stdout: string; stderr: string; cut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let cut = false;
    const keep = (acc: string, d: Buffer) => {
      const s = acc + d.toString('utf8');
      if (s.length <= maxBytes) return s;
      cut = true;
      return s.slice(s.length - maxBytes);
    };
    child.stdout.on('data', (d: Buffer) => (stdout = keep(stdout, d)));
    child.stderr.on('data', (d: Buffer) => (stderr = keep(stderr, d)));
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: `${cmd}: ${err.message}`, cut }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, cut }));
  });
}

async function followFile(
  files: string[],
  tail: number,
  emit: (line: string) => void,
  signal: AbortSignal,
  pollMs: number,
): Promise<void> {
  const file = files.at(-1)!;
  const first = readTailBytes(files, DEFAULT_MAX_BYTES);
  if (first) for (const l of lastLines(first.text, tail, first.cut).lines) emit(l);
  let offset = sizeOf(file);
  let partial = '';
  while (!signal.aborted) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, pollMs);
      signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
    const size = sizeOf(file);
    if (size < offset) {
      // Rotated (copy-truncate): the file starts over.
      offset = 0;
      partial = '';
    }
    if (size <= offset) continue;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size - offset, DEFAULT_MAX_BYTES));
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      const text = partial + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) emit(l.replace(/\r$/, ''));
    } finally {
      fs.closeSync(fd);
    }
  }
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function followCommand(
  cmd: string,
  args: string[],
  emit: (line: string) => void,
  env: NodeJS.ProcessEnv | undefined,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onAbort = () => child.kill('SIGTERM');
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const lines = (stream: NodeJS.ReadableStream) => {
      let partial = '';
      stream.on('data', (d: Buffer) => {
        const parts = (partial + d.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const l of parts) emit(l.replace(/\r$/, ''));
      });
    };
    lines(child.stdout);
    lines(child.stderr);
    child.on('error', (err) => reject(new OutpostError('runtime/unavailable', `${cmd}: ${err.message}`)));
    child.on('close', () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
}

/** The agent's answer to the LO's logs request over the site bus (ADR 0016). */
export async function answerLogsRequest(
  paths: AgentPaths,
  request: LogsRequest,
  o: Pick<LogOptions, 'podman' | 'env'> & { now(): number; maxBytes: number },
): Promise<LogsReply> {
  const d = findDeployment(paths, request.deploymentId);
  const components = await readWorkloadLogs(paths, d, {
    ...(request.component ? { component: request.component } : {}),
    tail: Math.min(checkTail(request.tail), 1000),
    maxBytes: o.maxBytes,
    ...(o.podman ? { podman: o.podman } : {}),
    ...(o.env ? { env: o.env } : {}),
  });
  return { ok: true, at: o.now(), components };
}
