import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** Tenants (administrators). Tokens: add-token.ts, list-tokens.ts, remove-token.ts. */
export function registerAdd(add: Command): void {
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

export function registerList(list: Command): void {
  list
    .command('tenants')
    .description('list tenants (administrators)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { tenants } = await client.tenants.list({});
        emit(format, tenants, () =>
          table(
            ['ID', 'NAME', 'CREATED'],
            tenants.map((t) => [t.id, t.name, new Date(t.createdAt).toISOString()]),
          ),
        );
      }),
    );
}
