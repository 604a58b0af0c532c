import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { renderUnit, unitLaunch } from '../agents/node/systemd.js';
import { EDGECTL, edgectl, startServer } from '../test/helpers/cli.js';
import { tempHome } from '../test/helpers/home.js';
import { startRegistry } from '../test/helpers/registry.js';
import {
  apiFor,
  compileHello,
  enrollNode,
  startAgentProcess,
  wasmApp,
  wasmRunnerPids,
  writeAgentConfig,
} from '../test/fixtures/agent/harness.js';
import { waitFor } from '../test/helpers/wait.js';

// The edge agent's memory (issue 18, ADR 0543, 0544), measured on the real `edgectl agent` process (built
// CLI, its own entry) against a real `edgectl server` and docker-registry on loopback, beside its baseline:
// an idle Node process started at the same moment and measured at the same moments, in the same run.
// - idle: 60 s after the first manifest was adopted (RSS and PSS from /proc, medians of 3 s of samples);
// - with WASM workloads: after one, then WORKLOADS WASM deployments are installed and 60 s have passed:
//   the agent, the one WASM runner (all workloads), their total, and the runner's cost per workload;
// - start-up: from spawn to "agent started" and to the first adopted manifest;
// - CPU: the agent's CPU time per poll while idle (it polls every 2 s here) and for the WASM deploys;
// started as the shipped systemd unit starts it (its ExecStart and Environment read from the rendered
// unit: NODE_OPTIONS, and the V8 flags bin/edgectl.js sets for the agent, ADR 0545), and with Node's and
// V8's defaults (no NODE_OPTIONS, EDGE_AGENT_V8_FLAGS empty). Writes bench/results/agent-memory.json.

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKLOADS = 4;
const IDLE_MS = 60_000;
const POLL_SECONDS = 2;

interface Launch {
  name: string;
  /** Node's own arguments before bin/edgectl.js. */
  nodeArgs: string[];
  env: Record<string, string>;
}

/** How the shipped unit starts the agent for `home`. */
function unitLaunchFor(home: string): Launch {
  const unit = renderUnit({
    template: fs.readFileSync(path.join(here, '../resources/systemd/outpost-agent.service'), 'utf8'),
    node: process.execPath,
    edgectl: EDGECTL,
    home,
    root: path.join(here, '..'),
  });
  const { argv, env } = unitLaunch(unit);
  return { name: 'systemd unit', nodeArgs: argv.slice(1, argv.indexOf(EDGECTL)), env };
}

/** The agent's CPU time (user + system) in ms. */
function cpuMs(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

interface Mem {
  rssMiB: number;
  pssMiB: number;
}

function memOf(pid: number): { rssKiB: number; pssKiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  let pss: number;
  try {
    pss = Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
  } catch {
    pss = 0;
  }
  return { rssKiB: rss, pssKiB: pss };
}

const mib = (kib: number) => Math.round((kib / 1024) * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

/** Medians of 3 s of samples of every pid, summed per sample time for `total`. */
async function sample(pids: Record<string, number | undefined>): Promise<Record<string, Mem>> {
  const rows: Record<string, { rss: number[]; pss: number[] }> = {};
  const names = Object.keys(pids).filter((k) => pids[k] !== undefined);
  for (const k of [...names, 'total']) rows[k] = { rss: [], pss: [] };
  const end = Date.now() + 3000;
  while (Date.now() < end) {
    let rss = 0;
    let pss = 0;
    for (const k of names) {
      const m = memOf(pids[k]!);
      rows[k]!.rss.push(m.rssKiB);
      rows[k]!.pss.push(m.pssKiB);
      if (k !== 'baseline') {
        rss += m.rssKiB;
        pss += m.pssKiB;
      }
    }
    rows.total!.rss.push(rss);
    rows.total!.pss.push(pss);
    await sleep(100);
  }
  return Object.fromEntries(
    Object.entries(rows).map(([k, v]) => [k, { rssMiB: mib(median(v.rss)), pssMiB: mib(median(v.pss)) }]),
  );
}

/** An idle Node process: the floor under any Node agent, measured beside it. */
function idleNode(env: NodeJS.ProcessEnv) {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)'], { env, stdio: 'ignore' });
}

interface Run {
  launch: string;
  nodeArgs: string[];
  nodeOptions: string;
  agentV8Flags: string;
  startupMs: { started: number; firstManifest: number };
  cpu: { idleMsPerPoll: number; deployAllMs: number; deployWallMs: number };
  idle: { agent: Mem; baseline: Mem; ratioRss: number; ratioPss: number };
  oneWorkload: { agent: Mem; runner: Mem; total: Mem; baseline: Mem };
  workloads: {
    count: number;
    runners: number;
    agent: Mem;
    runner: Mem;
    total: Mem;
    baseline: Mem;
    agentRatioRss: number;
    agentRatioPss: number;
    totalRatioRss: number;
    totalRatioPss: number;
    runnerPerWorkloadMiB: { rss: number; pss: number };
  };
}

async function measure(launchOf: (home: string) => Launch, n: number): Promise<Run> {
  const serverHome = tempHome('outpost-bench-agent-srv-');
  const agentHome = tempHome('outpost-bench-agent-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-agent-'));
  const [server, registry] = await Promise.all([startServer(serverHome.home), startRegistry()]);
  const launch = launchOf(agentHome.home);
  const nodeOptions = launch.env.NODE_OPTIONS ?? '';
  const env = { ...process.env, NODE_OPTIONS: nodeOptions };
  let agent: ReturnType<typeof startAgentProcess> | undefined;
  const baseline = idleNode(env);
  try {
    const api = apiFor(server);
    const file = await compileHello('bench module', work);
    const r = await edgectl([
      'oci',
      'push',
      file,
      `oci://${registry.host}/bench/hello:1.0.0`,
      '--plain-http',
    ]);
    if (r.code !== 0) throw new Error(r.stderr);
    for (let i = 1; i <= WORKLOADS; i++) {
      await api.apps.add({
        source: {
          kind: 'upload',
          upload: {
            fileName: 'margo.yaml',
            content: wasmApp({
              id: `bench-wasm-${i}`,
              version: '1.0.0',
              repository: `oci://${registry.host}/bench/hello`,
            }),
          },
        },
      });
    }
    await api.sites.add({ id: 'bench' });
    await enrollNode(api, agentHome.home, `bench-${n}`, 'bench');
    writeAgentConfig(agentHome.home, {
      poll: { intervalSeconds: POLL_SECONDS },
      runtimes: { container: { enabled: false }, compose: { enabled: false }, helm: { enabled: false } },
      logging: { level: 'warn' },
    });
    const t0 = performance.now();
    agent = startAgentProcess(agentHome.home, launch.env, ['--log-level', 'info'], launch.nodeArgs);
    await agent.waitForLog((l) => l.msg === 'agent started', 'start');
    const tStarted = performance.now() - t0;
    await agent.waitForLog((l) => l.msg === 'desired state adopted', 'first manifest');
    const tManifest = performance.now() - t0;
    await waitFor(async () => (await api.nodes.get({ name: `bench-${n}` })).capabilities !== null, {
      what: 'capabilities',
      intervalMs: 100,
    });
    const idleCpu0 = cpuMs(agent.pid);
    await sleep(IDLE_MS);
    const idleCpuMs = cpuMs(agent.pid) - idleCpu0;
    const idle = await sample({ agent: agent.pid, baseline: baseline.pid });

    const deploy = async (i: number) => {
      const dep = await api.deployments.create({ appId: `bench-wasm-${i}`, target: { siteId: 'bench' } });
      await waitFor(async () => (await api.deployments.get({ id: dep.id })).nodes[0]?.state === 'installed', {
        what: `deployment ${i} installed`,
        timeoutMs: 120_000,
        intervalMs: 100,
      });
      return dep.id;
    };
    const deployCpu0 = cpuMs(agent.pid);
    const deployT0 = performance.now();
    const ids = [await deploy(1)];
    let deployCpuMs = cpuMs(agent.pid) - deployCpu0;
    let deployWallMs = performance.now() - deployT0;
    await sleep(10_000);
    const one = await sample({
      agent: agent.pid,
      runner: wasmRunnerPids(agentHome.home)[0],
      baseline: baseline.pid,
    });
    const moreCpu0 = cpuMs(agent.pid);
    const moreT0 = performance.now();
    for (let i = 2; i <= WORKLOADS; i++) ids.push(await deploy(i));
    deployCpuMs += cpuMs(agent.pid) - moreCpu0;
    deployWallMs += performance.now() - moreT0;
    await sleep(IDLE_MS);
    const runners = wasmRunnerPids(agentHome.home);
    const many = await sample({ agent: agent.pid, runner: runners[0], baseline: baseline.pid });
    for (const id of ids) await api.deployments.remove({ id });
    await waitFor(() => wasmRunnerPids(agentHome.home).length === 0, {
      what: 'removed',
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    const per = (k: 'rssMiB' | 'pssMiB') =>
      Math.round(((many.runner![k] - one.runner![k]) / (WORKLOADS - 1)) * 10) / 10;
    return {
      launch: launch.name,
      nodeArgs: launch.nodeArgs,
      nodeOptions: nodeOptions || '(none)',
      agentV8Flags: launch.env.EDGE_AGENT_V8_FLAGS ?? '(launcher default)',
      startupMs: { started: Math.round(tStarted), firstManifest: Math.round(tManifest) },
      cpu: {
        idleMsPerPoll: Math.round((idleCpuMs / (IDLE_MS / 1000 / POLL_SECONDS)) * 10) / 10,
        deployAllMs: deployCpuMs,
        deployWallMs: Math.round(deployWallMs),
      },
      idle: {
        agent: idle.agent!,
        baseline: idle.baseline!,
        ratioRss: ratio(idle.agent!.rssMiB, idle.baseline!.rssMiB),
        ratioPss: ratio(idle.agent!.pssMiB, idle.baseline!.pssMiB),
      },
      oneWorkload: { agent: one.agent!, runner: one.runner!, total: one.total!, baseline: one.baseline! },
      workloads: {
        count: WORKLOADS,
        runners: runners.length,
        agent: many.agent!,
        runner: many.runner!,
        total: many.total!,
        baseline: many.baseline!,
        agentRatioRss: ratio(many.agent!.rssMiB, many.baseline!.rssMiB),
        agentRatioPss: ratio(many.agent!.pssMiB, many.baseline!.pssMiB),
        totalRatioRss: ratio(many.total!.rssMiB, many.baseline!.rssMiB),
        totalRatioPss: ratio(many.total!.pssMiB, many.baseline!.pssMiB),
        runnerPerWorkloadMiB: { rss: per('rssMiB'), pss: per('pssMiB') },
      },
    };
  } finally {
    baseline.kill('SIGKILL');
    await agent?.stop();
    for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
    await server.stop();
    await registry.stop();
    agentHome.cleanup();
    serverHome.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

it('measures the agent beside an idle Node process: idle, with WASM workloads, the shared runner', async () => {
  const runs: Run[] = [];
  runs.push(await measure(unitLaunchFor, 1));
  runs.push(
    await measure(
      () => ({ name: 'defaults', nodeArgs: [], env: { NODE_OPTIONS: '', EDGE_AGENT_V8_FLAGS: '' } }),
      2,
    ),
  );
  const result = {
    machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: os.loadavg()[0] },
    target: 'agent RSS < 50 MiB idle and with workloads; one WASM runner for all workloads or < 20 MiB each',
    runs,
  };
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', 'agent-memory.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
});
