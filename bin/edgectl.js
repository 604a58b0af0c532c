#!/usr/bin/env node
// edgectl: runs the built CLI (dist/), never a TypeScript loader, so it starts fast. `edgectl agent`
// running the agent (not one of its subcommands, not --help) starts from the agent's own entry, which
// loads only the agent (ADR 0543); `edgectl server` from the server's bundle with V8's code cache (ADR
// 0560); everything else from the whole CLI.
import { existsSync } from 'node:fs';
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
const entry = new URL(agent ? '../dist/cli/agent.js' : '../dist/cli/edgectl.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('edgectl: not built yet; run "npm run build" in the Outpost folder first\n');
  process.exit(1);
}
// The server: the same program as one CommonJS file compiled with V8's code cache (ADR 0560).
const server = new URL('../dist/cli/server.cjs', import.meta.url);
const loader = new URL('../dist/cli/code-cache.js', import.meta.url);
if (runsServer(args) && existsSync(fileURLToPath(server)) && existsSync(fileURLToPath(loader))) {
  const { runWithCodeCache } = await import(loader.href);
  runWithCodeCache(fileURLToPath(server));
} else {
  await import(entry.href);
}
