import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** `edgectl co list tokens` */
export function register(list: Command): void {
  list
    .command('tokens')
    .description('list the API tokens of the tenant')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { tokens } = await client.tenants.listTokens({});
        await emit(format, tokens, () =>
          table(
            ['ID', 'NAME', 'ADMIN', 'CREATED', 'REVOKED'],
            tokens.map((t) => [
              t.id,
              t.name,
              t.admin ? 'yes' : 'no',
              new Date(t.createdAt).toISOString(),
              t.revokedAt ? new Date(t.revokedAt).toISOString() : null,
            ]),
          ),
        );
      }),
    );
}
