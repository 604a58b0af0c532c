/**
 * The server's start and idle footprint (issue 18), each beside a bare baseline in the same run:
 * - `edgectl server` from spawn until the console API answers a call (`system.status` with the token of
 *   server.json), on a new home (cold: the site CA, migrations) and on the same home again (warm), beside
 *   a bare node:http server from spawn until it answers a GET (bench/lib/bare-http.mjs);
 * - embedded NATS: from writing its configuration and spawning nats-server until the supervisor saw it
 *   healthy (`readyMs` of the server's "nats-server running" log line), beside nats-server alone with the
 *   same configuration from spawn until `/healthz` answers 200;
 * - idle RSS and PSS of the server and its nats-server, beside nats-server alone plus the bare HTTP server;
 * - the start from the code cache (ADR 0560) and its idle RSS beside the ES module build's, which
 *   `edgectl server` ran before.
 * Writes bench/results/server-start.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { afterAll, expect, it } from 'vitest';
import { EDGECTL } from '../test/helpers/cli.js';
import { tempHome } from '../test/helpers/home.js';
import { figure, median, memOf, ROOT, round1, sleep, writeResult } from './lib/measure.js';

const ROUNDS = Number(process.env.OUTPOST_BENCH_ROUNDS ?? 7);
const IDLE_MS = Number(process.env.OUTPOST_BENCH_IDLE_MS ?? 10_000);

const homes: { cleanup(): void }[] = [];
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const h of homes) h.cleanup();
});

function get(port: number, p: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
  });
}

function rpc(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      new URL('/api/v1/rpc/system.status', url),
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end('{}');
  });
}

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

function track(child: ChildProcess): Promise<void> {
  children.add(child);
  return new Promise((r) => child.once('exit', () => r()));
}

/** A bare node:http server: ms from spawn to its first answer, and the process. */
async function startBareHttp(): Promise<{ ms: number; child: ChildProcess; exited: Promise<void> }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'lib', 'bare-http.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = track(child);
  const port = await new Promise<number>((resolve) =>
    readline.createInterface({ input: child.stdout! }).once('line', (l) => resolve(Number(l))),
  );
  await until('the bare server', async () => ((await get(port, '/')) === 200 ? true : undefined));
  return { ms: performance.now() - t0, child, exited };
}

interface Started {
  ms: number;
  child: ChildProcess;
  exited: Promise<void>;
  natsReadyMs: () => number | undefined;
}

/**
 * The ES module build, which `edgectl server` ran before ADR 0560 (no code cache): measured beside it in
 * the same run, so the gain is a ratio of this run, not of a noisy earlier one.
 */
const ESM_ENTRY = path.join(ROOT, 'dist', 'cli', 'edgectl.js');

/** `edgectl server`: ms from spawn until system.status answers 200. */
async function startOutpost(home: string, entry = EDGECTL): Promise<Started> {
  const serverJson = path.join(home, 'run', 'server.json');
  fs.rmSync(serverJson, { force: true });
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [entry, 'server', '--home', home, '--port', '0', '--log-level', 'info'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = track(child);
  let natsReadyMs: number | undefined;
  readline.createInterface({ input: child.stderr! }).on('line', (l) => {
    if (!l.includes('nats-server running')) return;
    try {
      natsReadyMs = (JSON.parse(l) as { readyMs?: number }).readyMs;
    } catch {
      /* not a log line */
    }
  });
  const info = await until('server.json', () => {
    if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode})`);
    try {
      const i = JSON.parse(fs.readFileSync(serverJson, 'utf8')) as {
        url: string;
        token: string;
        pid: number;
      };
      return i.pid === child.pid ? i : undefined;
    } catch {
      return undefined;
    }
  });
  await until('system.status', async () => ((await rpc(info.url, info.token)) === 200 ? true : undefined));
  return { ms: performance.now() - t0, child, exited, natsReadyMs: () => natsReadyMs };
}

async function stop(p: { child: ChildProcess; exited: Promise<void> }): Promise<void> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  await p.exited;
}

/** nats-server alone with a configuration file: ms from spawn until /healthz answers 200. */
async function startNatsAlone(conf: string, monitorPort: number) {
  const t0 = performance.now();
  const child = spawn('nats-server', ['-c', conf], { stdio: 'ignore' });
  const exited = track(child);
  await until('nats-server', async () => ((await get(monitorPort, '/healthz')) === 200 ? true : undefined));
  return { ms: performance.now() - t0, child, exited };
}

/** The pid of the nats-server under a server (its wrapper's child). */
function natsPidOf(serverPid: number): number | undefined {
  const kids = (pid: number) =>
    fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  for (const k of kids(serverPid)) {
    for (const g of kids(k))
      if (fs.readFileSync(`/proc/${g}/comm`, 'utf8').trim() === 'nats-server') return g;
  }
  return undefined;
}

it('server start, embedded NATS readiness and idle memory against bare baselines', async () => {
  const cold: number[] = [];
  const warm: number[] = [];
  const bare: number[] = [];
  const natsEmbedded: number[] = [];
  const natsAlone: number[] = [];
  const warmEsm: number[] = [];

  const warmHome = tempHome('outpost-bench-start-');
  homes.push(warmHome);
  await stop(await startOutpost(warmHome.home)); // creates the home: CA, database

  for (let i = 0; i < ROUNDS; i++) {
    const fresh = tempHome('outpost-bench-start-');
    homes.push(fresh);
    const b = await startBareHttp();
    bare.push(b.ms);
    await stop(b);
    const c = await startOutpost(fresh.home);
    cold.push(c.ms);
    await stop(c);
    const e = await startOutpost(warmHome.home, ESM_ENTRY);
    warmEsm.push(e.ms);
    await stop(e);
    const w = await startOutpost(warmHome.home);
    warm.push(w.ms);
    // The supervisor's own measure; the log line comes when it is healthy, maybe after the API answers.
    natsEmbedded.push(await until('the nats-server running line', () => w.natsReadyMs()));
    await stop(w);
    // nats-server alone, with the configuration the server wrote (its ports are free again).
    const conf = path.join(warmHome.home, 'nats', 'nats-server.conf');
    const monitor = Number(/"http":\s*"127\.0\.0\.1:(\d+)"/.exec(fs.readFileSync(conf, 'utf8'))?.[1]);
    const n = await startNatsAlone(conf, monitor);
    natsAlone.push(n.ms);
    await stop(n);
    fresh.cleanup();
  }

  // Idle memory: the server (warm home) and its nats-server, beside nats-server alone + the bare server.
  const w = await startOutpost(warmHome.home);
  await sleep(IDLE_MS);
  const natsPid = natsPidOf(w.child.pid!);
  expect(natsPid).toBeDefined();
  const outpostNode = memOf(w.child.pid!);
  const outpostNats = memOf(natsPid!);
  await stop(w);
  const we = await startOutpost(warmHome.home, ESM_ENTRY);
  await sleep(IDLE_MS);
  const esmNode = memOf(we.child.pid!);
  const esmNats = memOf(natsPidOf(we.child.pid!)!);
  await stop(we);
  const conf = path.join(warmHome.home, 'nats', 'nats-server.conf');
  const monitor = Number(/"http":\s*"127\.0\.0\.1:(\d+)"/.exec(fs.readFileSync(conf, 'utf8'))?.[1]);
  const n = await startNatsAlone(conf, monitor);
  const b = await startBareHttp();
  await sleep(IDLE_MS);
  const bareNats = memOf(n.child.pid!);
  const bareNode = memOf(b.child.pid!);
  await stop(n);
  await stop(b);

  const ms = (xs: number[]) => xs.map(round1);
  const figures = [
    figure({
      figure: 'edgectl server (new home) from spawn until the console API answers',
      unit: 'ms',
      outpost: round1(median(cold)),
      baseline: round1(median(bare)),
      baselineIs: 'a bare node:http server from spawn until it answers',
      goal: '<= 4',
      goalRatio: 4,
      samples: { outpost: ms(cold), baseline: ms(bare) },
    }),
    figure({
      figure: 'edgectl server (existing home) from spawn until the console API answers',
      unit: 'ms',
      outpost: round1(median(warm)),
      baseline: round1(median(bare)),
      baselineIs: 'a bare node:http server from spawn until it answers',
      goal: '<= 4',
      goalRatio: 4,
      samples: { outpost: ms(warm), baseline: ms(bare) },
    }),
    figure({
      figure:
        'edgectl server (existing home) from spawn until the console API answers, code cache against the ES module build',
      unit: 'ms',
      outpost: round1(median(warm)),
      baseline: round1(median(warmEsm)),
      baselineIs:
        'the same start from the ES module build without code cache (dist/cli/edgectl.js, before ADR 0560)',
      samples: { outpost: ms(warm), baseline: ms(warmEsm) },
    }),
    figure({
      figure: 'embedded NATS from spawn until healthy',
      unit: 'ms',
      outpost: round1(median(natsEmbedded)),
      baseline: round1(median(natsAlone)),
      baselineIs: 'nats-server alone, same configuration, from spawn until /healthz answers 200',
      goal: '<= 5',
      goalRatio: 5,
      samples: { outpost: ms(natsEmbedded), baseline: ms(natsAlone) },
    }),
    figure({
      figure: 'server idle RSS (node + nats-server)',
      unit: 'MiB',
      outpost: round1(outpostNode.rssMiB + outpostNats.rssMiB),
      baseline: round1(bareNode.rssMiB + bareNats.rssMiB),
      baselineIs: 'nats-server alone + a bare node:http server',
      goal: '<= 1.5',
      goalRatio: 1.5,
    }),
    figure({
      figure: 'server idle RSS (node + nats-server), code cache against the ES module build',
      unit: 'MiB',
      outpost: round1(outpostNode.rssMiB + outpostNats.rssMiB),
      baseline: round1(esmNode.rssMiB + esmNats.rssMiB),
      baselineIs: 'the same server from the ES module build (before ADR 0560)',
    }),
    figure({
      figure: 'server idle PSS (node + nats-server)',
      unit: 'MiB',
      outpost: round1(outpostNode.pssMiB + outpostNats.pssMiB),
      baseline: round1(bareNode.pssMiB + bareNats.pssMiB),
      baselineIs: 'nats-server alone + a bare node:http server',
    }),
  ];
  writeResult('server-start', {
    note: `medians of ${ROUNDS} rounds (bare, cold, warm from the ES module build, warm, nats-server alone in turn); memory after ${IDLE_MS} ms idle`,
    memory: {
      outpost: { node: outpostNode, nats: outpostNats },
      baseline: { node: bareNode, nats: bareNats },
      esModuleBuild: { node: esmNode, nats: esmNats },
    },
    figures,
  });
  for (const f of figures) expect(f.outpost).toBeGreaterThan(0);
});
