import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';

/** `edgectl co add token --name <name>`: an API token, printed once */
export function register(add: Command): void {
  add
    .command('token')
    .description('create an API token for the tenant (printed once; use it with --token or EDGE_TOKEN)')
    .requiredOption('--name <name>', 'what the token is for')
    .option('--admin', 'an administrator token (may act on every tenant)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { name: string; admin?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.tenants.createToken({ name: opts.name, admin: opts.admin ?? false });
        await emit(
          format,
          r,
          () => `${r.token}\n(token ${r.info.id} for tenant ${r.info.tenantId}; it is shown only now)`,
        );
      }),
    );
}
