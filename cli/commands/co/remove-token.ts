import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co remove token <id>`: revoke an API token */
export function register(remove: Command): void {
  remove
    .command('token <id>')
    .description('revoke an API token')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.tenants.revokeToken({ id });
        process.stdout.write(`revoked token ${id}\n`);
      }),
    );
}
