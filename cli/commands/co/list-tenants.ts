import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** `edgectl co list tenants` (administrators) */
export function register(list: Command): void {
  list
    .command('tenants')
    .description('list tenants (administrators)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { tenants } = await client.tenants.list({});
        await emit(format, tenants, () =>
          table(
            ['ID', 'NAME', 'CREATED'],
            tenants.map((t) => [t.id, t.name, new Date(t.createdAt).toISOString()]),
          ),
        );
      }),
    );
}
