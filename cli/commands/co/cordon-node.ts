import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co cordon <node>` */
export function register(co: Command): void {
  co.command('cordon <node>')
    .description('stop placing new deployments on a node')
    .action(
      action(async (name: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.nodes.cordon({ name });
        process.stdout.write(`${name} cordoned\n`);
      }),
    );
}
