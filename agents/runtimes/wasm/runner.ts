/**
 * Entry of the WASM workload runner: `node wasm-runner.js <workload state dir>`. The build bundles it
 * on its own (scripts/build.mjs → dist/cli/wasm-runner.js) so the agent can start it from dist/ as a
 * detached process that outlives the agent. The same file is the module thread's entry (worker_threads).
 */
import path from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readRunnerConfig, Supervisor } from './supervisor.js';
import { runModule, type WorkerInput } from './worker-main.js';

async function main(): Promise<void> {
  if (!isMainThread) {
    const input = workerData as WorkerInput;
    if (input?.role === 'outpost-wasm-module') await runModule(input, (r) => parentPort!.postMessage(r));
    return;
  }
  const arg = process.argv[2];
  if (!arg) {
    process.stderr.write('usage: wasm-runner <workload state directory>\n');
    process.exitCode = 2;
    return;
  }
  const dir = path.resolve(arg);
  const cfg = readRunnerConfig(dir);
  if (!cfg) {
    process.stderr.write(`wasm-runner: ${dir}/spec.json is missing or not a runner spec\n`);
    process.exitCode = 2;
    return;
  }
  // A second runner for the same workload (two applies racing, or a restart after a crash while the
  // first one still runs) leaves at once: the lock makes duplicates impossible.
  if (!Supervisor.acquireLock(dir, cfg.specHash)) return;
  // Let a runner racing for the same stale lock finish its takeover, then make sure the lock is ours.
  await new Promise((r) => setTimeout(r, 50));
  if (!Supervisor.holdsLock(dir)) return;
  new Supervisor(dir, cfg, new URL(import.meta.url)).start();
}

await main();
