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
  waitFor,
  wasmApp,
  wasmRunnerPids,
  writeAgentConfig,
} from '../test/fixtures/agent/harness.js';

// The edge agent's footprint, measured on the real `edgectl agent` process (built CLI) against a real
// `edgectl server` and docker-registry on loopback:
// - start-up: from spawn to "agent started" (runtimes probed, state loaded) and to the first adopted manifest;
// - memory (RSS and PSS from /proc) idle, during a WASM deploy, and idle again afterwards; with Node's
//   defaults and with the systemd unit's NODE_OPTIONS (--max-semi-space-size=1);
// - poll cost: CPU time of the agent per poll (If-None-Match, 304), on a reused connection (200 ms
//   interval) and with a fresh mutual-TLS handshake per poll (3 s interval).
// Writes bench/results/agent-memory.json.

const here = path.dirname(fileURLToPath(import.meta.url));
const PAGE = 1024;

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

function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(f[11]) + Number(f[12]); // utime + stime
  return (ticks * 1000) / 100; // CLK_TCK is 100 on Linux
}

const mib = (kib: number) => Math.round((kib / PAGE) * 10) / 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function sample(pid: number, ms: number, every = 100): Promise<{ rss: number[]; pss: number[] }> {
  const out = { rss: [] as number[], pss: [] as number[] };
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const m = memOf(pid);
    out.rss.push(m.rssKiB);
    out.pss.push(m.pssKiB);
    await sleep(every);
  }
  return out;
}

interface Run {
  nodeOptions: string;
  startupMs: { started: number; firstManifest: number };
  idleBefore: { rssMiB: number; pssMiB: number };
  deploy: { maxRssMiB: number; maxPssMiB: number; seconds: number };
  idleAfter: { rssMiB: number; pssMiB: number };
  wasmRunner: { rssMiB: number; pssMiB: number };
  poll: { intervalMs: number; freshTlsHandshake: boolean; polls: number; cpuMsPerPoll: number };
}

async function measure(nodeOptions: string, n: number, pollSeconds: number): Promise<Run> {
  const serverHome = tempHome('outpost-bench-agent-srv-');
  const agentHome = tempHome('outpost-bench-agent-');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'outpost-bench-agent-'));
  const [server, registry] = await Promise.all([startServer(serverHome.home), startRegistry()]);
  let agent: ReturnType<typeof startAgentProcess> | undefined;
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
    await api.apps.add({
      source: {
        kind: 'upload',
        upload: {
          fileName: 'margo.yaml',
          content: wasmApp({
            id: 'bench-wasm',
            version: '1.0.0',
            repository: `oci://${registry.host}/bench/hello`,
          }),
        },
      },
    });
    await api.sites.add({ id: 'bench' });
    await enrollNode(api, agentHome.home, `bench-${n}`, 'bench');
    writeAgentConfig(agentHome.home, {
      poll: { intervalSeconds: pollSeconds },
      runtimes: { container: { enabled: false }, compose: { enabled: false }, helm: { enabled: false } },
      logging: { level: 'warn' },
    });
    const env = nodeOptions ? { NODE_OPTIONS: nodeOptions } : { NODE_OPTIONS: '' };
    const t0 = performance.now();
    agent = startAgentProcess(agentHome.home, env, ['--log-level', 'info']);
    const started = await agent.waitForLog((l) => l.msg === 'agent started', 'start');
    const tStarted = performance.now() - t0;
    await agent.waitForLog((l) => l.msg === 'desired state adopted', 'first manifest');
    const tManifest = performance.now() - t0;
    void started;
    await waitFor(
      async () => (await api.nodes.get({ name: `bench-${n}` })).capabilities !== null,
      'capabilities',
    );
    await sleep(5000);
    const idle1 = await sample(agent.pid, 3000);

    // Poll cost: CPU per poll while idle (every poll a 304). At short intervals the TLS connection is
    // reused; past 2 s idle it is closed, so every poll pays a full mutual-TLS handshake.
    const c0 = cpuMs(agent.pid);
    const w0 = performance.now();
    await sleep(Math.max(10_000, pollSeconds * 8000));
    const polls = Math.round((performance.now() - w0) / (pollSeconds * 1000));
    const cpuPerPoll = (cpuMs(agent.pid) - c0) / polls;

    const d0 = performance.now();
    const sampling = sample(agent.pid, 60_000, 20);
    let stop = false;
    const during = { rss: [] as number[], pss: [] as number[] };
    const pid = agent.pid;
    const sampler = (async () => {
      while (!stop) {
        const m = memOf(pid);
        during.rss.push(m.rssKiB);
        during.pss.push(m.pssKiB);
        await sleep(20);
      }
    })();
    void sampling.catch(() => undefined);
    const dep = await api.deployments.create({ appId: 'bench-wasm', target: { siteId: 'bench' } });
    await waitFor(
      async () => {
        const v = await api.deployments.get({ id: dep.id });
        return v.nodes[0]?.state === 'installed';
      },
      'installed',
      60_000,
      50,
    );
    const deploySeconds = (performance.now() - d0) / 1000;
    stop = true;
    await sampler;
    await sleep(5000);
    const idle2 = await sample(agent.pid, 3000);
    const runner = wasmRunnerPids(agentHome.home)[0];
    const rm = runner ? memOf(runner) : { rssKiB: 0, pssKiB: 0 };
    await api.deployments.remove({ id: dep.id });
    await waitFor(() => wasmRunnerPids(agentHome.home).length === 0, 'removed', 30_000);
    return {
      nodeOptions: nodeOptions || '(none)',
      startupMs: { started: Math.round(tStarted), firstManifest: Math.round(tManifest) },
      idleBefore: { rssMiB: mib(median(idle1.rss)), pssMiB: mib(median(idle1.pss)) },
      deploy: {
        maxRssMiB: mib(Math.max(...during.rss)),
        maxPssMiB: mib(Math.max(...during.pss)),
        seconds: Math.round(deploySeconds * 100) / 100,
      },
      idleAfter: { rssMiB: mib(median(idle2.rss)), pssMiB: mib(median(idle2.pss)) },
      wasmRunner: { rssMiB: mib(rm.rssKiB), pssMiB: mib(rm.pssKiB) },
      poll: {
        intervalMs: pollSeconds * 1000,
        freshTlsHandshake: pollSeconds > 2,
        polls,
        cpuMsPerPoll: Math.round(cpuPerPoll * 100) / 100,
      },
    };
  } finally {
    await agent?.stop();
    for (const pid of wasmRunnerPids(agentHome.home)) process.kill(pid, 'SIGKILL');
    await server.stop();
    await registry.stop();
    agentHome.cleanup();
    serverHome.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

it('measures the agent: start-up, memory idle and during a deploy, poll cost', async () => {
  const runs: Run[] = [];
  runs.push(await measure('', 1, 0.2));
  runs.push(await measure('--max-semi-space-size=1', 2, 3));
  const bare = await (async () => {
    // Reference: a Node process that does nothing (the floor under any Node agent).
    const { spawn } = await import('node:child_process');
    const c = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 5000)']);
    await sleep(1000);
    const m = memOf(c.pid!);
    c.kill('SIGKILL');
    return { rssMiB: mib(m.rssKiB), pssMiB: mib(m.pssKiB) };
  })();
  const result = {
    machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: os.loadavg()[0] },
    target: 'RSS < 50 MiB idle',
    emptyNodeProcess: bare,
    runs,
  };
  fs.mkdirSync(path.join(here, 'results'), { recursive: true });
  fs.writeFileSync(path.join(here, 'results', 'agent-memory.json'), JSON.stringify(result, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
});
