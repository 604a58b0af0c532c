import { Command, CommanderError } from 'commander';
import { reportError, exitCodeFor } from './action.js';

declare const __OUTPOST_VERSION__: string;

export const VERSION = typeof __OUTPOST_VERSION__ === 'string' ? __OUTPOST_VERSION__ : 'dev';

/** `edgectl` with its global options and no commands (cli/main.ts adds them; cli/server-entry.ts one). */
export function baseProgram(): Command {
  return new Command('edgectl')
    .description(
      `Outpost edge orchestration: control plane, edge agent and tools (version ${VERSION}; edgectl --version)`,
    )
    .option('--home <dir>', 'data directory (default: $EDGE_HOME or a per-user folder)')
    .option('--debug', 'print stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
}

/** Runs a program on the arguments: expected failures are one line and an exit code, never a stack. */
export async function runProgram(build: () => Command, argv: string[]): Promise<void> {
  // `--version` is handled here, not by commander, so that subcommands may take their own --version.
  if (argv[2] === '--version' || argv[2] === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  const program = build();
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
