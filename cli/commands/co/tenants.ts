import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** Tenants and API tokens. */
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
        emit(
          format,
          r,
          () => `${r.token}\n(token ${r.info.id} for tenant ${r.info.tenantId}; it is shown only now)`,
        );
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
  list
    .command('tokens')
    .description('list the API tokens of the tenant')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { tokens } = await client.tenants.listTokens({});
        emit(format, tokens, () =>
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

export function registerRemove(remove: Command): void {
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
