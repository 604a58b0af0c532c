#!/usr/bin/env node
// edgectl: runs the built CLI (dist/), never a TypeScript loader, so it starts fast. `edgectl agent`
// running the agent (not one of its subcommands, not --help) starts from the agent's own entry, which
// loads only the agent (ADR 0543); everything else from the whole CLI.
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

const agent = runsAgent(process.argv.slice(2));
const entry = new URL(agent ? '../dist/cli/agent.js' : '../dist/cli/edgectl.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('edgectl: not built yet; run "npm run build" in the Outpost folder first\n');
  process.exit(1);
}
await import(entry.href);
