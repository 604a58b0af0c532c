import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co remove node <name>` */
export function register(remove: Command): void {
  remove
    .command('node <name>')
    .description('remove a node that has no deployments')
    .action(
      action(async (name: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.nodes.remove({ name });
        process.stdout.write(`removed node ${name}\n`);
      }),
    );
}
