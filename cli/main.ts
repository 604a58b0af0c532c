import type { Command } from 'commander';
import { register as server } from './commands/server.js';
import * as co from './commands/co/index.js';
import * as oci from './commands/oci/index.js';
import * as registry from './commands/registry/index.js';
import * as agent from './commands/agent/index.js';
import * as site from './commands/site/index.js';
import * as bundle from './commands/bundle/index.js';
import * as smp from './commands/smp/index.js';
import { register as discover } from './commands/discover.js';
import { baseProgram, runProgram, VERSION } from './lib/program.js';

export { VERSION };

/**
 * The top-level commands in `--help` order. A group's `head` makes its command (name, description, its own
 * options) and `register` the group with all its commands; a single command is always registered whole.
 */
interface TopLevel {
  name: string;
  register(program: Command): void;
  head?(program: Command): Command;
}
const TOP_LEVEL: TopLevel[] = [
  { name: 'server', register: server },
  { name: 'co', ...co },
  { name: 'oci', ...oci },
  { name: 'registry', ...registry },
  { name: 'site', ...site },
  { name: 'discover', register: discover },
  { name: 'smp', ...smp },
  { name: 'agent', ...agent },
  { name: 'bundle', ...bundle },
];

/**
 * edgectl: one command per file under cli/commands; this file only wires them. With `only`, the other
 * groups get just their heads: enough for `edgectl --help` and for naming an unknown command, and a start
 * does not build the ~150 commands it will not run (issue 18). Without it, the whole tree.
 */
export function buildProgram(only?: string | null): Command {
  const program = baseProgram();
  for (const t of TOP_LEVEL) {
    if (only === undefined || only === t.name || !t.head) t.register(program);
    else t.head(program);
  }
  return program;
}

/**
 * The top-level command the arguments name (`edgectl [--home DIR] [--debug] <name> ...`, or `edgectl help
 * <name>`), or null when they name none (`edgectl`, `edgectl --help`, a misspelt one).
 */
export function namedCommand(argv: readonly string[]): string | null {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--home') i++;
    else if (a === '--') return null;
    else if (!a.startsWith('-')) {
      const name = a === 'help' ? args.slice(i + 1).find((x) => !x.startsWith('-')) : a;
      return TOP_LEVEL.some((t) => t.name === name) ? name! : null;
    }
  }
  return null;
}

export async function main(argv: string[]): Promise<void> {
  await runProgram(() => buildProgram(namedCommand(argv)), argv);
}
