import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co set-model <node> <model|none>` */
export function register(co: Command): void {
  co.command('set-model <node> <model>')
    .description('link a node to a device model ("none" to unlink)')
    .action(
      action(async (name: string, model: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.nodes.setModel({ name, modelId: model === 'none' ? null : model });
        process.stdout.write(`${name}: model ${model}\n`);
      }),
    );
}
