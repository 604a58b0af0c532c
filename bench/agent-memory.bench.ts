import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import { edgectl, startServer } from '../test/helpers/cli.js';
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
// with the systemd unit's NODE_OPTIONS (--max-semi-space-size=1) and with Node's defaults.
// Writes bench/results/agent-memory.json.

const here = path.dirname(fileURLToPath(import.meta.url));
const WORKLOADS = 4;
const IDLE_MS = 60_000;

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
  nodeOptions: string;
  startupMs: { started: number; firstManifest: number };
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

async function measure(nodeOptions: string, n: number): Promise<Run> {
  const serverHome = tempHome('outpost-bench-agent-srv-');
  const agentHome = tempHome('outpost-bench-agent-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-agent-'));
  const [server, registry] = await Promise.all([startServer(serverHome.home), startRegistry()]);
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
      poll: { intervalSeconds: 2 },
      runtimes: { container: { enabled: false }, compose: { enabled: false }, helm: { enabled: false } },
      logging: { level: 'warn' },
    });
    const t0 = performance.now();
    agent = startAgentProcess(agentHome.home, { NODE_OPTIONS: nodeOptions }, ['--log-level', 'info']);
    await agent.waitForLog((l) => l.msg === 'agent started', 'start');
    const tStarted = performance.now() - t0;
    await agent.waitForLog((l) => l.msg === 'desired state adopted', 'first manifest');
    const tManifest = performance.now() - t0;
    await waitFor(async () => (await api.nodes.get({ name: `bench-${n}` })).capabilities !== null, {
      what: 'capabilities',
      intervalMs: 100,
    });
    await sleep(IDLE_MS);
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
    const ids = [await deploy(1)];
    await sleep(10_000);
    const one = await sample({
      agent: agent.pid,
      runner: wasmRunnerPids(agentHome.home)[0],
      baseline: baseline.pid,
    });
    for (let i = 2; i <= WORKLOADS; i++) ids.push(await deploy(i));
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
      nodeOptions: nodeOptions || '(none)',
      startupMs: { started: Math.round(tStarted), firstManifest: Math.round(tManifest) },
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
  runs.push(await measure('--max-semi-space-size=1', 1));
  runs.push(await measure('', 2));
  const result = {
    machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: os.loadavg()[0] },
    target: 'agent RSS < 50 MiB idle and with workloads; one WASM runner for all workloads or < 20 MiB each',
    runs,
  };
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', 'agent-memory.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
});
