/**
 * The fleet simulator's driver (issue 18): one real LO (`edgectl server`, SQLite, its nats-server) and N
 * simulated nodes with their own SVIDs in `processes` simulator processes (simulator.ts). Measures the
 * LO's idle cost while every node polls every `pollSeconds` and heartbeats over NATS, the time from a
 * deployment targeting all N nodes until all N reported `installed` (and the same for an update), and the
 * LO's memory throughout.
 *
 * Identities are real: the simulator processes make each node's key and have the site CA sign its SVID
 * in-process (core/ca's batch issuer; enrolling 10,000 nodes over the MMI would measure enrollment), and
 * the enrollment rows (nodes, svids, NATS users) are written before the server starts.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, type ServerProcess } from '../../test/helpers/cli.js';
import { tempHome } from '../../test/helpers/home.js';
import { WASM_APP } from '../../test/fixtures/margo.js';
import { contract, createClient, createHttpTransport } from '../../lib/contract/index.js';
import {
  nodeClientId,
  prepareLoHome,
  recordEnrolledNodes,
  SITE,
  TRUST_DOMAIN,
  WFM_ID,
} from '../lib/lo-home.js';
import { counterDelta, cpuMsOf, memOf, ROOT, round1, round2, sleep, tcpCounters } from '../lib/measure.js';
import type { FleetCommand, IssuedIdentity, NodeBus, SimReply, SimStats } from './protocol.js';

export interface FleetOptions {
  nodes: number;
  /** Simulator processes (each holds nodes/processes MMI and NATS connections; 2 by default). */
  processes?: number;
  /** The agent's poll period (default 30 s, the agent's default). */
  pollSeconds?: number;
  /** Presence heartbeats over NATS (default 10 s, the agent's default); 0 = no NATS. */
  heartbeatSeconds?: number;
  /**
   * The first polls (full handshakes) are spread over this long; default the poll period, or 100 new
   * nodes a second when that is longer (10,000 handshakes at once would measure a storm, not a fleet).
   */
  rampSeconds?: number;
  /** The idle window measured, after every node polled twice (default two poll periods). */
  idleSeconds?: number;
  /** Give up waiting for all statuses after this long (default 120 s). */
  deployTimeoutSeconds?: number;
  log?: (line: string) => void;
  /** Node options of the server process (e.g. --cpu-prof for a profile of the LO). */
  serverNodeArgs?: string[];
  /** Updates of all N rolled out one after the other (default 1; more to look for a rare lost update). */
  updates?: number;
  /**
   * Further deployments to all N after those, each followed at once by an update (default 0): the
   * deploy-then-update sequence again, to look for a rare lost update.
   */
  repeats?: number;
}

export interface MemorySample {
  /** Seconds since the server started. */
  t: number;
  phase: string;
  loRssMiB: number;
  natsRssMiB: number | null;
  /** Open file descriptors of the LO (sockets mostly): the process limit here is 20,000. */
  loFds: number;
}

export interface DeployFigures {
  /** From the API call until the last node's `installed` was accepted by the LO. */
  allStatusesSeconds: number;
  /** Until half and 90 % of the nodes had (the slower simulator process's figure). */
  halfStatusesSeconds: number;
  p90StatusesSeconds: number;
  /** "Poll now" notices the nodes received, and manifests they fetched, in this phase. */
  pollNowReceived: number;
  manifestsFetched: number;
  /** The API call itself (placement, git, manifests) before it answered. */
  apiSeconds: number;
  installedReported: number;
  loCpuPercentPeak1s: number;
  loCpuSeconds: number;
  /** Simulator request errors in this phase, and NATS connections the server closed (the node reconnected). */
  errors: number;
  busReconnects: number;
  /** The machine's TCP reset and overflow counters over this phase (tcpCounters: other processes count too). */
  tcp: Record<string, number>;
}

export interface FleetResult {
  nodes: number;
  processes: number;
  pollSeconds: number;
  rampSeconds: number;
  heartbeatSeconds: number;
  seedSeconds: number;
  startSeconds: number;
  /** Until every node polled twice (the first poll of each a full handshake). */
  warmUpSeconds: number;
  idle: {
    windowSeconds: number;
    polls: number;
    pollsPerSecond: number;
    newConnections: number;
    resumedConnections: number;
    heartbeats: number;
    loCpuPercent: number;
    loCpuPercentPer1000Nodes: number;
    loCpuMsPerPoll: number;
    natsCpuPercent: number | null;
    pollLatencyMs: { p50: number; p99: number; max: number };
  };
  deploy: DeployFigures;
  update: DeployFigures;
  /** The updates after the first (`updates` > 1). */
  moreUpdates: DeployFigures[];
  memory: {
    loRssMiB: { afterStart: number; idle: number; max: number; end: number };
    /** The LO's open file descriptors at most, per phase (the process limit here is 20,000). */
    loFdsMax: Record<string, number>;
    natsRssMiB: { idle: number | null; max: number | null };
    samples: MemorySample[];
  };
  simulator: {
    cpuSeconds: number;
    rssMiB: number;
    errors: number;
    /** Requests sent again at once on a new connection after their kept one was reset (as the agent does). */
    staleRetries: number;
    /** Status reports sent again after a failure (the outbox's backoff). */
    reportRetries: number;
    errorSamples: string[];
  };
  /** The LO's warnings and errors (JSON log lines of level 40 and up): count and the first few by message. */
  serverWarnings: { count: number; samples: string[] };
  /** When each phase began (CLOCK_MONOTONIC, µs: the clock of V8's CPU profiles, to slice one by phase). */
  phaseStartsUs: Record<string, number>;
}

interface Sim {
  child: ChildProcess;
  call<T extends SimReply['cmd']>(msg: FleetCommand, reply: T): Promise<Extract<SimReply, { cmd: T }>>;
}

function startSim(): Sim {
  const child = fork(path.join(ROOT, 'bench/fleet/simulator.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    child,
    call(msg, reply) {
      return new Promise((resolve, reject) => {
        const on = (m: SimReply) => {
          if (m.cmd !== reply && m.cmd !== 'error') return;
          child.off('message', on);
          child.off('exit', onExit);
          if (m.cmd === 'error') reject(new Error(`simulator: ${m.message}`));
          else resolve(m as never);
        };
        const onExit = (code: number | null) => reject(new Error(`simulator exited (${code})`));
        child.on('message', on);
        child.once('exit', onExit);
        child.send(msg);
      });
    },
  };
}

/** The nats-server the LO supervises: the descendant process named nats-server (found through /proc). */
function natsPidOf(serverPid: number): number | undefined {
  const parentOf = (pid: number): number | undefined => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return undefined;
    }
  };
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    let comm: string;
    try {
      comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm !== 'nats-server') continue;
    for (let p = parentOf(pid), hops = 0; p !== undefined && p > 1 && hops < 5; p = parentOf(p), hops++)
      if (p === serverPid) return pid;
  }
  return undefined;
}

function sumStats(all: SimStats[]): SimStats {
  const out = { ...all[0]! };
  for (const s of all.slice(1)) {
    for (const k of Object.keys(out) as (keyof SimStats)[]) {
      const sum = out as unknown as Record<string, number>;
      if (typeof out[k] === 'number') sum[k] = sum[k]! + (s[k] as number);
    }
    out.installs = out.installs.map((v, i) => v + (s.installs[i] ?? 0));
    for (let i = out.installs.length; i < s.installs.length; i++) out.installs[i] = s.installs[i]!;
    out.lastInstallAt = [...Array(Math.max(out.lastInstallAt.length, s.lastInstallAt.length)).keys()].map(
      (i) => Math.max(out.lastInstallAt[i] ?? 0, s.lastInstallAt[i] ?? 0),
    );
    const maxOf = (a: number[], b: number[]) =>
      [...Array(Math.max(a.length, b.length)).keys()].map((i) => Math.max(a[i] ?? 0, b[i] ?? 0));
    out.medianInstallAt = maxOf(out.medianInstallAt, s.medianInstallAt);
    out.p90InstallAt = maxOf(out.p90InstallAt, s.p90InstallAt);
    out.errorSamples = [...out.errorSamples, ...s.errorSamples];
    out.laggards = [...out.laggards, ...s.laggards].sort((a, b) => a.installs - b.installs).slice(0, 5);
    out.pollLatencyMs = {
      p50: Math.max(out.pollLatencyMs.p50, s.pollLatencyMs.p50),
      p99: Math.max(out.pollLatencyMs.p99, s.pollLatencyMs.p99),
      max: Math.max(out.pollLatencyMs.max, s.pollLatencyMs.max),
      n: out.pollLatencyMs.n + s.pollLatencyMs.n,
    };
  }
  return out;
}

function fdsOf(pid: number): number {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

function warningsOf(output: string): { count: number; samples: string[] } {
  let count = 0;
  const byMsg = new Map<string, string>();
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as { level?: number; msg?: string };
      if ((j.level ?? 0) < 40) continue;
      count++;
      if (!byMsg.has(j.msg ?? '') && byMsg.size < 10) byMsg.set(j.msg ?? '', line.slice(0, 400));
    } catch {
      // not a log line
    }
  }
  return { count, samples: [...byMsg.values()] };
}

export async function runFleet(o: FleetOptions): Promise<FleetResult> {
  const n = o.nodes;
  const processes = o.processes ?? 2;
  const pollSeconds = o.pollSeconds ?? 30;
  const heartbeatSeconds = o.heartbeatSeconds ?? 10;
  const idleSeconds = o.idleSeconds ?? 2 * pollSeconds;
  const rampSeconds = o.rampSeconds ?? Math.max(pollSeconds, n / 100);
  const deployTimeoutMs = (o.deployTimeoutSeconds ?? 120) * 1000;
  const log = o.log ?? ((line: string) => process.stderr.write(`fleet ${n}: ${line}\n`));
  const nats = heartbeatSeconds > 0;

  const home = tempHome('outpost-fleet-');
  const sims: Sim[] = [];
  let server: ServerProcess | undefined;
  let sampler: NodeJS.Timeout | undefined;
  let api: ReturnType<typeof createClient<typeof contract>> | undefined;
  let deploymentId = '';
  try {
    // ---- identities and enrollment rows ----
    const seedStarted = performance.now();
    const ca = await prepareLoHome({
      home: home.home,
      nats,
      config: [
        'nats:',
        `  enabled: ${nats}`,
        `  heartbeatSeconds: ${heartbeatSeconds || 10}`,
        `  checkInSeconds: ${pollSeconds}`,
        'registry:',
        '  enabled: false',
        'discovery:',
        '  enabled: false',
        '',
      ].join('\n'),
    });
    const ids = Array.from({ length: n }, (_, i) => nodeClientId(i));
    const shares = Array.from({ length: processes }, (_, p) => ids.filter((_, i) => i % processes === p));
    for (let p = 0; p < processes; p++) sims.push(startSim());
    const now = Date.now();
    const issued: IssuedIdentity[][] = await Promise.all(
      sims.map(async (s, p) => {
        const r = await s.call(
          {
            cmd: 'issue',
            ca: { certPem: ca.certPem, keyPem: ca.keyPem },
            trustDomain: TRUST_DOMAIN,
            wfmId: WFM_ID,
            clientIds: shares[p]!,
            now,
            ttlSeconds: 30 * 86_400,
          },
          'issued',
        );
        log(`simulator ${p + 1}: ${r.identities.length} SVIDs issued`);
        return r.identities;
      }),
    );
    const creds = recordEnrolledNodes(home.home, issued.flat(), { nats });
    const busOf = new Map(
      creds.map((c): [string, NodeBus] => [
        c.nodeUid,
        {
          clientId: c.nodeUid,
          user: c.user,
          seed: c.seed!,
          notify: c.subjects.notify,
          presence: c.subjects.presence,
        },
      ]),
    );
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    log(`${n} SVIDs issued and enrolled in ${round1(seedSeconds)} s`);

    // ---- the LO ----
    const startStarted = performance.now();
    server = await startServer(home.home, [], {}, (cmd, args, env) =>
      spawn(cmd, [...(o.serverNodeArgs ?? []), ...args], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    const startSeconds = (performance.now() - startStarted) / 1000;
    const loPid = server.info.pid;
    const natsPid = nats ? natsPidOf(loPid) : undefined;
    const client = createClient(
      contract,
      createHttpTransport({ baseUrl: server.info.url, token: server.info.token, timeoutMs: 300_000 }),
    );
    api = client;
    const mmi = new URL(server.info.mmiUrl!);
    const natsUrl = server.info.natsUrl ? new URL(server.info.natsUrl) : undefined;

    const t0 = performance.now();
    const samples: MemorySample[] = [];
    let phase = 'start';
    const phaseStartsUs: Record<string, number> = {};
    const enter = (p: string) => {
      phase = p;
      phaseStartsUs[p] = Number(process.hrtime.bigint() / 1000n);
    };
    enter('start');
    const sample = () => {
      samples.push({
        t: round1((performance.now() - t0) / 1000),
        phase,
        loRssMiB: memOf(loPid).rssMiB,
        natsRssMiB: natsPid ? memOf(natsPid).rssMiB : null,
        loFds: fdsOf(loPid),
      });
    };
    sample();
    sampler = setInterval(sample, 1000);

    const stats = async () =>
      sumStats(await Promise.all(sims.map(async (s) => (await s.call({ cmd: 'stats' }, 'stats')).stats)));
    const until = async (what: string, ok: (s: SimStats) => boolean, ms: number): Promise<SimStats> => {
      const deadline = performance.now() + ms;
      for (;;) {
        const s = await stats();
        if (ok(s)) return s;
        if (performance.now() > deadline)
          throw new Error(
            `${what}: not reached in ${ms / 1000} s (${JSON.stringify({ ...s, errorSamples: s.errorSamples.slice(0, 3) })})`,
          );
        await sleep(250);
      }
    };

    // ---- the fleet connects and polls ----
    enter('warm-up');
    const warmStarted = performance.now();
    await Promise.all(
      sims.map((s, p) =>
        s.call(
          {
            cmd: 'start',
            options: {
              mmiHost: mmi.hostname.replace(/^\[|\]$/g, ''),
              mmiPort: Number(mmi.port),
              mmiBasePath: mmi.pathname.replace(/\/+$/, ''),
              anchorsPem: [ca.certPem],
              pollSeconds,
              rampSeconds,
              heartbeatSeconds: heartbeatSeconds || 1e9,
              natsHost: natsUrl?.hostname ?? '127.0.0.1',
              natsPort: Number(natsUrl?.port ?? 0),
              natsTls: natsUrl?.protocol === 'tls:',
              ...(nats ? { buses: shares[p]!.map((id) => busOf.get(id)!) } : {}),
            },
          },
          'started',
        ),
      ),
    );
    log(`NATS connected; first polls (full handshakes) spread over ${rampSeconds} s`);
    await until(
      'every node polled once',
      (s) => s.polledOnce === n,
      (rampSeconds + 2 * pollSeconds) * 1000 + 60_000,
    );
    const afterFirst = await stats();
    // Every node polls once more, so the idle window sees kept connections only.
    await until(
      'every node polled twice',
      (s) => s.polls >= afterFirst.polls + n,
      pollSeconds * 3000 + 60_000,
    );
    const warmUpSeconds = (performance.now() - warmStarted) / 1000;
    // The application is in the catalogue before the window, so the window is idle.
    await client.apps.add({
      source: { kind: 'upload', upload: { fileName: 'margo.yaml', content: WASM_APP('1.0.0') } },
    });

    // ---- idle ----
    enter('idle');
    log(`warm (${round1(warmUpSeconds)} s); idle window of ${idleSeconds} s`);
    const before = {
      s: await stats(),
      lo: cpuMsOf(loPid),
      nats: natsPid ? cpuMsOf(natsPid) : 0,
      at: performance.now(),
    };
    await sleep(idleSeconds * 1000);
    const after = {
      s: await stats(),
      lo: cpuMsOf(loPid),
      nats: natsPid ? cpuMsOf(natsPid) : 0,
      at: performance.now(),
    };
    const windowS = (after.at - before.at) / 1000;
    const polls = after.s.polls - before.s.polls;
    const loCpuPercent = ((after.lo - before.lo) / 1000 / windowS) * 100;
    const idleMem = memOf(loPid).rssMiB;
    const idleNatsMem = natsPid ? memOf(natsPid).rssMiB : null;
    const idle: FleetResult['idle'] = {
      windowSeconds: round1(windowS),
      polls,
      pollsPerSecond: round1(polls / windowS),
      newConnections: after.s.connections - before.s.connections,
      resumedConnections: after.s.resumed - before.s.resumed,
      heartbeats: after.s.heartbeats - before.s.heartbeats,
      loCpuPercent: round2(loCpuPercent),
      loCpuPercentPer1000Nodes: round2((loCpuPercent * 1000) / n),
      loCpuMsPerPoll: round2((after.lo - before.lo) / Math.max(1, polls)),
      natsCpuPercent: natsPid ? round2(((after.nats - before.nats) / 1000 / windowS) * 100) : null,
      pollLatencyMs: {
        p50: round1(after.s.pollLatencyMs.p50),
        p99: round1(after.s.pollLatencyMs.p99),
        max: round1(after.s.pollLatencyMs.max),
      },
    };
    log(`idle: ${JSON.stringify(idle)}`);

    // ---- deploy to all, then update all ----
    const rollout = async (k: number, act: () => Promise<unknown>): Promise<DeployFigures> => {
      const cpu0 = cpuMsOf(loPid);
      const tcp0 = tcpCounters();
      const s0 = await stats();
      let peak = 0;
      let last = cpu0;
      const peakTimer = setInterval(() => {
        const c = cpuMsOf(loPid);
        peak = Math.max(peak, (c - last) / 10);
        last = c;
      }, 1000);
      try {
        const startedAt = Date.now();
        const started = performance.now();
        await act();
        const apiSeconds = (performance.now() - started) / 1000;
        const s = await until(
          `all ${n} nodes installed (round ${k + 1})`,
          (x) => (x.installs[k] ?? 0) >= n,
          deployTimeoutMs,
        );
        return {
          allStatusesSeconds: round2((s.lastInstallAt[k]! - startedAt) / 1000),
          halfStatusesSeconds: round2((s.medianInstallAt[k]! - startedAt) / 1000),
          p90StatusesSeconds: round2((s.p90InstallAt[k]! - startedAt) / 1000),
          pollNowReceived: s.pollNow - s0.pollNow,
          manifestsFetched: s.manifests - s0.manifests,
          apiSeconds: round2(apiSeconds),
          installedReported: 0,
          loCpuPercentPeak1s: round1(peak),
          loCpuSeconds: round2((cpuMsOf(loPid) - cpu0) / 1000),
          errors: s.errors - s0.errors,
          busReconnects: s.busReconnects - s0.busReconnects,
          tcp: counterDelta(tcp0, tcpCounters()),
        };
      } finally {
        clearInterval(peakTimer);
      }
    };
    enter('deploy');
    const deploy = await rollout(0, async () => {
      const d = await client.deployments.create({ appId: 'hello-wasm', target: { siteId: SITE } });
      deploymentId = d.id;
    });
    deploy.installedReported = (await client.deployments.get({ id: deploymentId })).counts.installed ?? 0;
    log(`deploy: ${JSON.stringify(deploy)}`);
    enter('update');
    const update = await rollout(1, () =>
      client.deployments.update({ id: deploymentId, parameters: { greeting: 'hey' } }),
    );
    update.installedReported = (await client.deployments.get({ id: deploymentId })).counts.installed ?? 0;
    log(`update: ${JSON.stringify(update)}`);
    const moreUpdates: DeployFigures[] = [];
    for (let k = 2; k <= (o.updates ?? 1); k++) {
      const u = await rollout(k, () =>
        client.deployments.update({ id: deploymentId, parameters: { greeting: `hey ${k}` } }),
      );
      u.installedReported = (await client.deployments.get({ id: deploymentId })).counts.installed ?? 0;
      log(`update ${k}: ${JSON.stringify(u)}`);
      moreUpdates.push(u);
    }
    let round = Math.max(2, (o.updates ?? 1) + 1);
    for (let r = 1; r <= (o.repeats ?? 0); r++) {
      const again = await rollout(round++, async () => {
        const d = await client.deployments.create({
          appId: 'hello-wasm',
          name: `fleet-repeat-${r}`,
          target: { siteId: SITE },
        });
        deploymentId = d.id;
      });
      log(`repeat ${r}, deploy: ${JSON.stringify(again)}`);
      const u = await rollout(round++, () =>
        client.deployments.update({ id: deploymentId, parameters: { greeting: `again ${r}` } }),
      );
      log(`repeat ${r}, update: ${JSON.stringify(u)}`);
      moreUpdates.push(again, u);
    }
    enter('after');
    await sleep(2000);
    sample();

    const end = await stats();
    const lo = samples.map((x) => x.loRssMiB);
    const nm = samples.map((x) => x.natsRssMiB).filter((x): x is number => x !== null);
    return {
      nodes: n,
      processes,
      pollSeconds,
      rampSeconds,
      heartbeatSeconds,
      seedSeconds: round1(seedSeconds),
      startSeconds: round1(startSeconds),
      warmUpSeconds: round1(warmUpSeconds),
      idle,
      deploy,
      update,
      moreUpdates,
      memory: {
        loRssMiB: { afterStart: lo[0]!, idle: idleMem, max: Math.max(...lo), end: lo[lo.length - 1]! },
        loFdsMax: samples.reduce<Record<string, number>>(
          (m, x) => ({ ...m, [x.phase]: Math.max(m[x.phase] ?? 0, x.loFds) }),
          {},
        ),
        natsRssMiB: { idle: idleNatsMem, max: nm.length ? Math.max(...nm) : null },
        samples: samples.filter((_, i) => i % 5 === 0 || i === samples.length - 1),
      },
      simulator: {
        cpuSeconds: round1(end.cpuMs / 1000),
        rssMiB: end.rssMiB,
        errors: end.errors,
        staleRetries: end.staleRetries,
        reportRetries: end.reportRetries,
        errorSamples: end.errorSamples.slice(0, 20),
      },
      serverWarnings: warningsOf(server.stdout() + server.stderr()),
      phaseStartsUs,
    };
  } catch (err) {
    // What the LO logged (warnings and errors) explains most failures.
    if (server) log(`server log (last lines):\n${(server.stdout() + server.stderr()).slice(-4000)}`);
    if (api && deploymentId) {
      const v = await api.deployments.get({ id: deploymentId }).catch((e: unknown) => e);
      log(`deployment: ${JSON.stringify(v, (k, x: unknown) => (k === 'nodes' ? undefined : x))}`);
      const st = await api.system.status({}).catch((e: unknown) => e);
      log(
        `desired state at the LO: ${JSON.stringify((st as { desiredState?: unknown }).desiredState ?? st)}`,
      );
    }
    throw err;
  } finally {
    clearInterval(sampler);
    await Promise.all(
      sims.map(async (s) => {
        if (s.child.exitCode !== null) return;
        const exited = new Promise((r) => s.child.once('exit', r));
        s.child.send({ cmd: 'stop' } satisfies FleetCommand);
        const kill = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(kill);
      }),
    );
    await server?.stop();
    home.cleanup();
  }
}
