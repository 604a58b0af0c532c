import { Command, CommanderError } from 'commander';
import { register as runAgent } from './commands/agent/run.js';
import { exitCodeFor, reportError } from './lib/action.js';

/**
 * `edgectl agent` (running the agent, not its subcommands): an entry of its own (dist/cli/agent.js, issue
 * 18, ADR 0543) so that the long-lived agent process loads only the agent and what it uses, not the CLI's
 * other command groups, the contract's schemas or zod. bin/edgectl.js sends `edgectl agent [options]` here
 * and everything else (`agent enroll`, `agent --help`, ...) to the whole CLI. The options are the run
 * command's own (cli/commands/agent/run.ts) and edgectl's global `--home` and `--debug`.
 */
export async function main(argv: string[]): Promise<void> {
  const program = new Command('edgectl')
    .option('--home <dir>', 'data directory (default: $EDGE_HOME or a per-user folder)')
    .option('--debug', 'print stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  runAgent(program);
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
