/**
 * The fleet simulator from the command line, outside the benchmark suite:
 *   npx tsx bench/fleet/run.ts --nodes 10000 [--poll 30] [--heartbeat 10] [--idle 60] [--processes 2] [--updates 1] [--repeats 0]
 *     [--cpu-prof DIR]
 * Prints the result as JSON (the figures of bench/fleet-scale.bench.ts for one size).
 */
import { parseArgs } from 'node:util';
import { runFleet } from './fleet.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '1000' },
    poll: { type: 'string', default: '30' },
    heartbeat: { type: 'string', default: '10' },
    idle: { type: 'string' },
    processes: { type: 'string', default: '2' },
    /** Updates of all nodes one after the other (default 1). */
    updates: { type: 'string', default: '1' },
    /** Further deployments to all nodes, each followed at once by an update (default 0). */
    repeats: { type: 'string', default: '0' },
    /** Give up on a deploy or update after this many seconds (default 120). */
    timeout: { type: 'string' },
    /** A folder for a CPU profile of the LO (slice it by phase with profile-slices.mjs). */
    'cpu-prof': { type: 'string' },
  },
});
const result = await runFleet({
  nodes: Number(values.nodes),
  pollSeconds: Number(values.poll),
  heartbeatSeconds: Number(values.heartbeat),
  processes: Number(values.processes),
  updates: Number(values.updates),
  repeats: Number(values.repeats),
  ...(values.timeout ? { deployTimeoutSeconds: Number(values.timeout) } : {}),
  ...(values.idle ? { idleSeconds: Number(values.idle) } : {}),
  ...(values['cpu-prof'] ? { serverNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] } : {}),
});
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
