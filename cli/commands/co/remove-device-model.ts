import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co remove device-model <id>` */
export function register(remove: Command): void {
  remove
    .command('device-model <id>')
    .description('remove a device model no node uses')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.deviceModels.remove({ id });
        process.stdout.write(`removed device model ${id}\n`);
      }),
    );
}
