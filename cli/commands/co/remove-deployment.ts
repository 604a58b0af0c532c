import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { renderDeployment, waitForDeployment, waitTimeoutMs } from './shared.js';

/** `edgectl co remove deployment <id> [--wait]` */
export function register(remove: Command): void {
  remove
    .command('deployment <id>')
    .description('remove a deployment from all its nodes (they report removing, then removed)')
    .option('--wait', 'show progress until every node reports removed')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default 600)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (id: string, opts: { wait?: boolean; timeout?: string; output?: string }, cmd: Command) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const d = await client.deployments.remove({ id });
          const final = opts.wait
            ? await waitForDeployment(client, id, { timeoutMs: waitTimeoutMs(opts.timeout) })
            : d;
          await emit(format, final, () => renderDeployment(final));
        },
      ),
    );
}
