/**
 * Entry of the WASM runner: `node wasm-runner.js --host <state dir>`, one process for all of a node's
 * WASM workloads (ADR 0544). The build bundles it on its own (scripts/build.mjs → dist/cli/wasm-runner.js)
 * so the agent can start it from dist/ as a detached process that outlives the agent. The same file is
 * the entry of every module's thread (worker_threads).
 */
import path from 'node:path';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { RESCAN_SIGNAL } from './runner-protocol.js';
import { RunnerHost } from './supervisor.js';
import { runModule, type WorkerInput } from './worker-main.js';

async function main(): Promise<void> {
  if (!isMainThread) {
    const input = workerData as WorkerInput;
    if (input?.role === 'outpost-wasm-module') await runModule(input, (r) => parentPort!.postMessage(r));
    return;
  }
  const [flag, arg] = process.argv.slice(2);
  if (flag !== '--host' || !arg) {
    process.stderr.write('usage: wasm-runner --host <WASM runtime state directory>\n');
    process.exitCode = 2;
    return;
  }
  // The adapter signals a runner as soon as it sees its lock: a signal before the runner listens would end
  // it (the default action). The runner reads every request when it starts anyway.
  const early = () => undefined;
  process.on(RESCAN_SIGNAL, early);
  const stateDir = path.resolve(arg);
  // A second runner for the same state directory (two agents' applies racing, or a start while the first
  // one still runs) leaves at once: the lock makes duplicates impossible. Whoever runs acts on the requests.
  if (!RunnerHost.acquireLock(stateDir)) return;
  // Let a runner racing for the same stale lock finish its takeover, then make sure the lock is ours.
  await new Promise((r) => setTimeout(r, 50));
  if (!RunnerHost.holdsLock(stateDir)) return;
  new RunnerHost(stateDir, new URL(import.meta.url)).start();
  process.off(RESCAN_SIGNAL, early);
}

await main();
