import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co add tenant <id>` (administrators) */
export function register(add: Command): void {
  add
    .command('tenant <id>')
    .description('create a tenant (administrators)')
    .option('--name <name>', 'display name')
    .action(
      action(async (id: string, opts: { name?: string }, cmd: Command) => {
        const { client } = connect(globals(cmd));
        const t = await client.tenants.add({ id, ...(opts.name ? { name: opts.name } : {}) });
        process.stdout.write(`added tenant ${t.id}\n`);
      }),
    );
}
