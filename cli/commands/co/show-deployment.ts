import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { renderDeployment } from './shared.js';

/** `edgectl co show deployment <id>`: every node's state with the age of its report */
export function register(show: Command): void {
  show
    .command('deployment <id>')
    .description('show a deployment: the state of every node with the age of each report')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const d = await client.deployments.get({ id });
        await emit(format, d, () => renderDeployment(d));
      }),
    );
}
