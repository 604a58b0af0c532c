import { Command, CommanderError } from 'commander';
import { register as server } from './commands/server.js';
import { register as co } from './commands/co/index.js';
import { register as oci } from './commands/oci/index.js';
import { register as registry } from './commands/registry/index.js';
import { register as agent } from './commands/agent/index.js';
import { register as site } from './commands/site/index.js';
import { register as bundle } from './commands/bundle/index.js';
import { register as smp } from './commands/smp/index.js';
import { register as discover } from './commands/discover.js';
import { reportError, exitCodeFor } from './lib/action.js';

declare const __OUTPOST_VERSION__: string;

/** edgectl: one command per file under cli/commands; this file only wires them. */
export function buildProgram(): Command {
  const program = new Command('edgectl')
    .description(
      `Outpost edge orchestration: control plane, edge agent and tools (version ${VERSION}; edgectl --version)`,
    )
    .option('--home <dir>', 'data directory (default: $EDGE_HOME or a per-user folder)')
    .option('--debug', 'print stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  server(program);
  co(program);
  oci(program);
  registry(program);
  site(program);
  discover(program);
  smp(program);
  agent(program);
  bundle(program);
  return program;
}

export const VERSION = typeof __OUTPOST_VERSION__ === 'string' ? __OUTPOST_VERSION__ : 'dev';

export async function main(argv: string[]): Promise<void> {
  // `--version` is handled here, not by commander, so that subcommands may take their own --version.
  if (argv[2] === '--version' || argv[2] === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    reportError(err, argv.includes('--debug'));
    process.exitCode = exitCodeFor(err);
  }
}
