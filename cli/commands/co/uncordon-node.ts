import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co uncordon <node>` */
export function register(co: Command): void {
  co.command('uncordon <node>')
    .description('allow placement on a node again')
    .action(
      action(async (name: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.nodes.uncordon({ name });
        process.stdout.write(`${name} uncordoned\n`);
      }),
    );
}
