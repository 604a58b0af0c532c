import { waitFor } from '../test/helpers/wait.js';
/**
 * Presence at scale: N simulated agents (many raw NATS connections in this process, each with its own
 * NKEY user and least-privilege permissions) heartbeat to one LO every few seconds with jitter, each
 * subscribed to its "poll now" subject. The LO is a real nats-server plus the LO-side presence tracker
 * (service connection, upward stream, KV bucket) in a child process. Measured for N = 1,000 and 10,000:
 * CPU and memory of nats-server and of the LO process in steady state, and the latency of a poll-now
 * fan-out to all N agents (p50/p99). Numbers go to bench/results/nats-presence.json.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { removeTempDirs, startTestServer, tempDir, type TestServer } from '../lib/base/testing.js';
import type { NodeCredentials } from '../core/messaging/credentials.js';
import { fastNkeyAuthenticator } from '../lib/bus/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIZES = (process.env.NATS_BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const HEARTBEAT_SECONDS = 5;
const WINDOW_MS = 15_000;
const FANOUT_ROUNDS = 5;
const SITE = 'bench';

// ---- a light simulated agent: the NATS text protocol over one socket ----
interface Sim {
  sock: net.Socket;
  presence: string;
  nextBeat: number;
  beats: number;
}
const latenciesNs: bigint[] = [];
let protocolErrors = 0;

function connectSim(port: number, cred: NodeCredentials): Promise<Sim> {
  return new Promise((resolve, reject) => {
    const auth = fastNkeyAuthenticator(cred.seed!, cred.user);
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.setNoDelay(true);
    let buf = '';
    let ready = false;
    const sim: Sim = {
      sock,
      presence: cred.subjects.presence,
      nextBeat: Date.now() + Math.random() * HEARTBEAT_SECONDS * 1000,
      beats: 0,
    };
    sock.on('error', (e) => (ready ? (protocolErrors++, undefined) : reject(e)));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (;;) {
        const eol = buf.indexOf('\r\n');
        if (eol < 0) return;
        const line = buf.slice(0, eol);
        if (line.startsWith('MSG ')) {
          const size = Number(line.slice(line.lastIndexOf(' ') + 1));
          if (buf.length < eol + 2 + size + 2) return;
          const payload = buf.slice(eol + 2, eol + 2 + size);
          buf = buf.slice(eol + 2 + size + 2);
          const t = /"t":"(\d+)"/.exec(payload);
          if (t) latenciesNs.push(process.hrtime.bigint() - BigInt(t[1]!));
          continue;
        }
        buf = buf.slice(eol + 2);
        if (line.startsWith('INFO ')) {
          const info = JSON.parse(line.slice(5)) as { nonce: string };
          const connect = {
            verbose: false,
            pedantic: false,
            protocol: 1,
            echo: false,
            headers: false,
            no_responders: false,
            name: cred.nodeUid,
            lang: 'bench',
            version: '0',
            ...(auth(info.nonce) as { nkey: string; sig: string }),
          };
          sock.write(`CONNECT ${JSON.stringify(connect)}\r\nSUB ${cred.subjects.notify} 1\r\nPING\r\n`);
        } else if (line === 'PONG') {
          if (!ready) {
            ready = true;
            resolve(sim);
          }
        } else if (line === 'PING') {
          sock.write('PONG\r\n');
        } else if (line.startsWith('-ERR')) {
          protocolErrors++;
          if (!ready) reject(new Error(line));
        }
      }
    });
  });
}

// ---- /proc measurements ----
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round2 = (x: number) => Math.round(x * 100) / 100;

function request<T>(child: ChildProcess, msg: { cmd: string; round?: number }): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { cmd: string }) => {
      if (m.cmd === msg.cmd) {
        child.off('message', on);
        resolve(m as T);
      }
    };
    child.on('message', on);
    child.send(msg);
  });
}

const results: unknown[] = [];
let server: TestServer | undefined;
let child: ChildProcess | undefined;
let sims: Sim[] = [];
let ticker: NodeJS.Timeout | undefined;

async function teardown(): Promise<void> {
  clearInterval(ticker);
  for (const s of sims) s.sock.destroy();
  sims = [];
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.send({ cmd: 'stop' });
    const t = setTimeout(() => child?.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  child = undefined;
  await server?.stop();
  server = undefined;
}

afterAll(async () => {
  await teardown();
  removeTempDirs();
});

async function runSize(n: number): Promise<Record<string, unknown>> {
  latenciesNs.length = 0;
  protocolErrors = 0;
  const uids = Array.from({ length: n }, (_, i) => `bench.agent-${String(i).padStart(5, '0')}`);
  let creds: NodeCredentials[] = [];
  const tIssue = performance.now();
  server = await startTestServer({
    role: 'lo',
    siteId: SITE,
    setup: (c) => {
      creds = c.issueNodes(uids.map((nodeUid) => ({ nodeUid, siteId: SITE })));
    },
  });
  const issueAndStartMs = performance.now() - tIssue;
  const natsPid = server.sup.pid()!;
  const port = server.sup.ports()!.client;
  const dir = tempDir('bench-nodes');
  const nodesFile = path.join(dir, 'nodes.json');
  fs.writeFileSync(nodesFile, JSON.stringify(uids));
  child = fork(
    path.join(root, 'core/messaging/testdata/bench-lo-child.ts'),
    [
      JSON.stringify({
        url: server.url,
        seed: server.creds.serviceSeed(),
        siteId: SITE,
        nodesFile,
        heartbeatSeconds: HEARTBEAT_SECONDS,
        staleAfterSeconds: HEARTBEAT_SECONDS * 3,
        offlineAfterSeconds: HEARTBEAT_SECONDS * 9,
      }),
    ],
    { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  await new Promise<void>((resolve) => child!.once('message', () => resolve()));

  // Connect the agents in batches.
  const tConnect = performance.now();
  for (let i = 0; i < creds.length; i += 250) {
    sims.push(...(await Promise.all(creds.slice(i, i + 250).map((c) => connectSim(port, c)))));
  }
  const connectMs = performance.now() - tConnect;
  ticker = setInterval(() => {
    const now = Date.now();
    for (const s of sims) {
      if (s.nextBeat > now) continue;
      const body = `{"at":${now},"n":${++s.beats}}`;
      s.sock.write(`PUB ${s.presence} ${body.length}\r\n${body}\r\n`);
      s.nextBeat = now + HEARTBEAT_SECONDS * 1000 * (0.9 + Math.random() * 0.2);
    }
  }, 100);
  const c = child;
  await waitFor(
    async () => (await request<{ counts: { online: number } }>(c, { cmd: 'stats' })).counts.online === n,
    { what: `all ${n} online`, timeoutMs: 60_000 },
  );

  // Steady state.
  const before = {
    nats: cpuTicks(natsPid),
    lo: cpuTicks(child.pid!),
    sim: process.cpuUsage(),
    hb: (await request<{ received: number }>(c, { cmd: 'stats' })).received,
  };
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, WINDOW_MS));
  const wallS = (performance.now() - t0) / 1000;
  const after = {
    nats: cpuTicks(natsPid),
    lo: cpuTicks(child.pid!),
    sim: process.cpuUsage(before.sim),
    hb: (await request<{ received: number }>(c, { cmd: 'stats' })).received,
  };
  const steady = {
    windowSeconds: round2(wallS),
    heartbeatsPerSecond: Math.round((after.hb - before.hb) / wallS),
    natsServer: {
      cpuPercent: round2(((after.nats - before.nats) / CLK_TCK / wallS) * 100),
      rssMb: rssMb(natsPid),
    },
    loProcess: {
      cpuPercent: round2(((after.lo - before.lo) / CLK_TCK / wallS) * 100),
      rssMb: rssMb(child.pid!),
    },
    simulator: {
      cpuPercent: round2(((after.sim.user + after.sim.system) / 1e6 / wallS) * 100),
      rssMb: Math.round(process.memoryUsage().rss / 1024 / 102.4) / 10,
    },
  };
  const presence = (await request<{ counts: Record<string, number> }>(c, { cmd: 'stats' })).counts;

  // Fan-out: one poll-now to every agent, a few rounds.
  const perRound: { p50Ms: number; p99Ms: number; allMs: number; sendMs: number }[] = [];
  const all: number[] = [];
  for (let r = 0; r < FANOUT_ROUNDS; r++) {
    const from = latenciesNs.length;
    const sent = await request<{ sendNs: string }>(c, { cmd: 'fanout', round: r });
    await waitFor(() => latenciesNs.length - from >= n, `fan-out round ${r}`);
    const ms = latenciesNs
      .slice(from, from + n)
      .map((x) => Number(x) / 1e6)
      .sort((a, b) => a - b);
    all.push(...ms);
    perRound.push({
      p50Ms: round2(percentile(ms, 50)),
      p99Ms: round2(percentile(ms, 99)),
      allMs: round2(ms[ms.length - 1]!),
      sendMs: round2(Number(sent.sendNs) / 1e6),
    });
    await new Promise((res) => setTimeout(res, 1000));
  }
  all.sort((a, b) => a - b);
  const result = {
    agents: n,
    heartbeatSeconds: HEARTBEAT_SECONDS,
    issueCredentialsAndStartMs: Math.round(issueAndStartMs),
    configBytes: fs.statSync(path.join(server.dir, 'nats-server.conf')).size,
    connectAllMs: Math.round(connectMs),
    steady,
    presence,
    fanout: {
      rounds: FANOUT_ROUNDS,
      p50Ms: round2(percentile(all, 50)),
      p99Ms: round2(percentile(all, 99)),
      maxMs: round2(all[all.length - 1]!),
      perRound,
    },
    protocolErrors,
  };
  await teardown();
  return result;
}

it(
  'presence and poll-now fan-out with 1,000 and 10,000 simulated agents',
  async () => {
    for (const n of SIZES) {
      const r = await runSize(n);
      results.push(r);
      expect((r as { presence: { online: number } }).presence.online).toBe(n);
      expect((r as { protocolErrors: number }).protocolErrors).toBe(0);
    }
    const natsVersion = execFileSync('nats-server', ['--version']).toString().trim();
    const out = {
      benchmark: 'nats-presence',
      date: new Date().toISOString(),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model,
        memoryGb: Math.round(os.totalmem() / 1024 ** 3),
        node: process.version,
        natsServer: natsVersion,
      },
      notes:
        'Agents are raw NATS connections in the bench process (NKEY auth, per-node permissions). LO = nats-server + presence tracker (KV last-seen, upward stream) in a child process. CPU% is of one core, over the steady-state window. Fan-out latency: LO publish to agent receipt (CLOCK_MONOTONIC).',
      results,
    };
    fs.mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
    fs.writeFileSync(
      path.join(root, 'bench', 'results', 'nats-presence.json'),
      JSON.stringify(out, null, 2) + '\n',
    );
  },
  10 * 60_000,
);
