import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What the ratio benchmarks share: /proc readings (CPU time, RSS, PSS), medians, and one result file per
 * benchmark with the machine, the load and, for every figure, Outpost, its bare baseline from the same run
 * and their ratio (a regression shows as a ratio, not as a noisy absolute time on a loaded machine).
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU time of a process (ms), from /proc/<pid>/stat (10 ms resolution). */
export function cpuMsOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/**
 * TCP counters of this network namespace (/proc/net/netstat and /proc/net/snmp) that tell why connections
 * were reset: listen-queue overflows, resets sent on closing with unread data or on an early close, aborts
 * for memory or timeout. Machine-wide (other processes count too): compare deltas over a phase.
 */
export function tcpCounters(): Record<string, number> {
  const out: Record<string, number> = {};
  const wanted = new Set([
    'TcpExt.ListenOverflows',
    'TcpExt.ListenDrops',
    'TcpExt.TCPAbortOnData',
    'TcpExt.TCPAbortOnClose',
    'TcpExt.TCPAbortOnMemory',
    'TcpExt.TCPAbortOnTimeout',
    'Tcp.EstabResets',
    'Tcp.OutRsts',
  ]);
  for (const file of ['/proc/net/netstat', '/proc/net/snmp']) {
    let lines: string[];
    try {
      lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    } catch {
      continue;
    }
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(/\s+/);
      const values = lines[i + 1]!.split(/\s+/);
      const prefix = names[0]!.replace(/:$/, '');
      names.slice(1).forEach((n, k) => {
        if (wanted.has(`${prefix}.${n}`)) out[`${prefix}.${n}`] = Number(values[k + 1]);
      });
    }
  }
  return out;
}

/** `after - before` per counter. */
export function counterDelta(before: Record<string, number>, after: Record<string, number>) {
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - (before[k] ?? 0)]));
}

/** RSS and PSS in MiB (PSS from smaps_rollup: shared pages counted once across processes). */
export function memOf(pid: number): { rssMiB: number; pssMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  let pss = 0;
  try {
    pss = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    /* no smaps_rollup */
  }
  return { rssMiB: round1(rss / 1024), pssMiB: round1(pss / 1024) };
}

export const round1 = (x: number) => Math.round(x * 10) / 10;
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One figure of the issue's tables: Outpost beside its baseline, the ratio, and the goal for that ratio. */
export interface Figure {
  figure: string;
  unit: string;
  outpost: number;
  baseline: number;
  baselineIs: string;
  /** outpost / baseline (for rates: baseline / outpost is not used; see `higherIsBetter`). */
  ratio: number;
  goal?: string;
  met?: boolean;
  samples?: { outpost: number[]; baseline: number[] };
}

export function figure(
  f: Omit<Figure, 'ratio' | 'met'> & { higherIsBetter?: boolean; goalRatio?: number },
): Figure {
  const ratio = round2(f.outpost / f.baseline);
  const { higherIsBetter, goalRatio, ...rest } = f;
  const met = goalRatio === undefined ? undefined : higherIsBetter ? ratio >= goalRatio : ratio <= goalRatio;
  return { ...rest, ratio, ...(met === undefined ? {} : { met }) };
}

export function machine(): Record<string, unknown> {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    loadAverage: os.loadavg().map(round2),
  };
}

export function writeResult(name: string, data: Record<string, unknown>): void {
  const out = { bench: name, at: new Date().toISOString(), machine: machine(), ...data };
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(out, null, 2));
}

/**
 * Runs a command to its end and returns its wall time (ms, spawn to exit, through one `bash` that both
 * sides pay) and the CPU time it used (user + system, ms, from bash's `times`). Throws when it fails.
 */
export function timedRun(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { wallMs: number; cpuMs: number; stdout: string } {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `${quoted} > "$OUTPOST_BENCH_OUT"; s=$?; times >&2; exit $s`;
  const out = path.join(os.tmpdir(), `outpost-bench-out-${process.pid}`);
  const started = performance.now();
  const r = spawnSync('bash', ['-c', script], {
    env: { ...env, OUTPOST_BENCH_OUT: out },
    encoding: 'utf8',
  });
  const wallMs = performance.now() - started;
  const stdout = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  fs.rmSync(out, { force: true });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  // `times` prints the shell's own times, then its children's: "0m0.081s 0m0.012s".
  const children = r.stderr.trim().split('\n').pop()!;
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { wallMs, cpuMs: ((secs[0] ?? 0) + (secs[1] ?? 0)) * 1000, stdout };
}
