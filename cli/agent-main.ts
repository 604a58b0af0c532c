import { register as runAgent } from './commands/agent/run.js';
import { baseProgram, runProgram } from './lib/program.js';

/**
 * `edgectl agent` (running the agent, not its subcommands): an entry of its own (dist/cli/agent.js, issue
 * 18, ADR 0543) so that the long-lived agent process loads only the agent and what it uses, not the CLI's
 * other command groups, the contract's schemas or zod. bin/edgectl.js sends `edgectl agent [options]` here
 * and everything else (`agent enroll`, `agent --help`, ...) to the whole CLI. The options are the run
 * command's own (cli/commands/agent/run.ts) and edgectl's global `--home` and `--debug`.
 */
export async function main(argv: string[]): Promise<void> {
  await runProgram(() => {
    const program = baseProgram();
    runAgent(program);
    return program;
  }, argv);
}
