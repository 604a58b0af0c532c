import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co remove site <id>` */
export function register(remove: Command): void {
  remove
    .command('site <id>')
    .description('remove a site that has no nodes')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.sites.remove({ id });
        process.stdout.write(`removed site ${id}\n`);
      }),
    );
}
