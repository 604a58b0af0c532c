#!/usr/bin/env node
// edgectl: runs the built CLI (dist/), never a TypeScript loader, so it starts fast. `edgectl agent`
// running the agent (not one of its subcommands, not --help) starts from the agent's own entry, which
// loads only the agent (ADR 0543); `edgectl server` from the server's bundle with V8's code cache (ADR
// 0560); everything else from the whole CLI.
//
// The agent runs its JavaScript in V8's interpreter only (`--no-opt --no-sparkplug`, ADR 0545): a
// process that is idle between polls gains nothing from compiled code, and the compilers' code pages,
// their threads' memory and the compiled code cost the agent about 7-9 MiB of RSS. `EDGE_AGENT_V8_FLAGS`
// replaces the flags (empty: V8's defaults). They are set here, before the agent's code runs, so that
// every way of starting the agent (the systemd unit, a shell, a container) gets them.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';

const AGENT_SUBCOMMANDS = new Set(['enroll', 'status', 'logs', 'install-service', 'help']);
const HELP = new Set(['--help', '-h', '--version', '-V']);

/** Whether the arguments run the agent: the first word is `agent` and nothing after it names more. */
function runsAgent(args) {
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) i += args[i] === '--home' ? 2 : 1;
  if (args[i] !== 'agent') return false;
  return !args.slice(i + 1).some((a) => AGENT_SUBCOMMANDS.has(a) || HELP.has(a));
}

/** Whether the arguments run the server: the first word is `server` and no help is asked for. */
function runsServer(args) {
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) i += args[i] === '--home' ? 2 : 1;
  return args[i] === 'server' && !args.slice(i + 1).some((a) => HELP.has(a));
}

const args = process.argv.slice(2);
const agent = runsAgent(args);
const AGENT_V8_FLAGS = process.env.EDGE_AGENT_V8_FLAGS ?? '--no-opt --no-sparkplug';
if (agent && AGENT_V8_FLAGS.trim() !== '') setFlagsFromString(AGENT_V8_FLAGS);
const entry = new URL(agent ? '../dist/cli/agent.js' : '../dist/cli/edgectl.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('edgectl: not built yet; run "npm run build" in the Outpost folder first\n');
  process.exit(1);
}
// The server: the same program as one CommonJS file compiled with V8's code cache (ADR 0560).
const server = new URL('../dist/cli/server.cjs', import.meta.url);
const loader = new URL('../dist/cli/code-cache.js', import.meta.url);
if (runsServer(args) && existsSync(fileURLToPath(server)) && existsSync(fileURLToPath(loader))) {
  // The young generation does not grow during the start (ADR 0561): its growth while the modules load
  // left 8 MiB semi-spaces that an idle server kept touched (~10 MiB of RSS) and took no less GC time.
  // V8 reads this flag at each growth, so once the server is warm (after the code cache was written:
  // the flag is part of what the cache is checked against) it grows again as load asks.
  const ownYoungFlags = /semi-space/.test(`${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
  if (!ownYoungFlags) setFlagsFromString('--semi-space-growth-factor=1');
  const { runWithCodeCache } = await import(loader.href);
  runWithCodeCache(fileURLToPath(server));
  // 2 is V8's default in Node 20.
  if (!ownYoungFlags)
    process.once('outpost:warm', () =>
      setImmediate(() => setImmediate(() => setFlagsFromString('--semi-space-growth-factor=2'))),
    );
} else {
  await import(entry.href);
}
