/**
 * What a command costs to start (issue 18): `edgectl --help` beside `node -e 0`, and `edgectl co status
 * -o json` against a running server beside one request with node:http making the same call
 * (bench/lib/bare-request.mjs), each pair run alternately in the same run. Per figure: the median wall
 * time (spawn to exit) and CPU time of both, and their ratio. Runs the built CLI (bin/edgectl.js), as a
 * user does. Writes bench/results/cli-start.json.
 */
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { EDGECTL, startServer, type ServerProcess } from '../test/helpers/cli.js';
import { tempHome } from '../test/helpers/home.js';
import { figure, median, ROOT, round1, timedRun, writeResult } from './lib/measure.js';

const ROUNDS = Number(process.env.OUTPOST_BENCH_ROUNDS ?? 21);
const node = process.execPath;

const home = tempHome('outpost-bench-cli-');
let server: ServerProcess | undefined;

afterAll(async () => {
  await server?.stop();
  home.cleanup();
});

interface Pair {
  figure: string;
  goal: string;
  goalRatio: number;
  outpost: string[];
  baseline: string[];
  baselineIs: string;
  env?: NodeJS.ProcessEnv;
}

/** Runs both sides alternately (which goes first alternates too); medians of wall and CPU time. */
function measurePair(p: Pair) {
  const env = { ...process.env, ...p.env };
  const o = { wall: [] as number[], cpu: [] as number[] };
  const b = { wall: [] as number[], cpu: [] as number[] };
  const run = (argv: string[], into: typeof o) => {
    const r = timedRun(argv, env);
    into.wall.push(r.wallMs);
    into.cpu.push(r.cpuMs);
  };
  // One warm-up each (the page cache), not counted.
  timedRun(p.outpost, env);
  timedRun(p.baseline, env);
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      run(p.outpost, o);
      run(p.baseline, b);
    } else {
      run(p.baseline, b);
      run(p.outpost, o);
    }
  }
  return [
    figure({
      figure: `${p.figure}: wall time`,
      unit: 'ms',
      outpost: round1(median(o.wall)),
      baseline: round1(median(b.wall)),
      baselineIs: p.baselineIs,
      goal: p.goal,
      goalRatio: p.goalRatio,
      samples: { outpost: o.wall.map(round1), baseline: b.wall.map(round1) },
    }),
    figure({
      figure: `${p.figure}: CPU time`,
      unit: 'ms',
      outpost: round1(median(o.cpu)),
      baseline: round1(median(b.cpu)),
      baselineIs: p.baselineIs,
    }),
  ];
}

it('edgectl start: --help and co status -o json against their bare baselines', async () => {
  server = await startServer(home.home);
  const env = { EDGE_HOME: home.home };
  // The command works before it is timed (and prints what the baseline prints).
  const status = JSON.parse(
    timedRun([node, EDGECTL, 'co', 'status', '-o', 'json'], { ...process.env, ...env }).stdout,
  );
  expect(status.version).toBeTruthy();

  const figures = [
    ...measurePair({
      figure: 'edgectl --help',
      goal: '<= 1.6',
      goalRatio: 1.6,
      outpost: [node, EDGECTL, '--help'],
      baseline: [node, '-e', '0'],
      baselineIs: 'node -e 0',
    }),
    ...measurePair({
      figure: 'edgectl co status -o json',
      goal: '<= 1.6',
      goalRatio: 1.6,
      outpost: [node, EDGECTL, 'co', 'status', '-o', 'json'],
      baseline: [
        node,
        path.join(ROOT, 'bench', 'lib', 'bare-request.mjs'),
        server.info.url,
        server.info.token,
      ],
      baselineIs: 'one request with node:http (the same RPC, the answer printed)',
      env,
    }),
  ];
  writeResult('cli-start', {
    note: `medians of ${ROUNDS} alternating runs of each side; wall time from spawn to exit through one bash (both sides), CPU time user + system`,
    figures,
  });
  for (const f of figures) expect(f.outpost).toBeGreaterThan(0);
});
