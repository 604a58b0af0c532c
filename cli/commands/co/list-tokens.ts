import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';
import { formatTime, tokenState } from './shared.js';

/** `edgectl co list tokens`: the tenant's API tokens with their roles (never their secrets). */
export function register(list: Command): void {
  list
    .command('tokens')
    .description('list the API tokens of the tenant with their roles, expiry and maker (never the secrets)')
    .option('--active', 'only tokens that still work')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { active?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const now = Date.now();
        const { tokens } = await client.tenants.listTokens({ includeRevoked: !opts.active });
        const shown = opts.active ? tokens.filter((t) => tokenState(t, now) === 'active') : tokens;
        await emit(format, shown, () =>
          table(
            ['ID', 'NAME', 'TENANT', 'ROLES', 'STATE', 'EXPIRES', 'CREATED', 'CREATED BY'],
            shown.map((t) => [
              t.id,
              t.name,
              t.tenantId,
              t.roles.join(','),
              tokenState(t, now),
              t.expiresAt === null ? 'never' : formatTime(t.expiresAt),
              formatTime(t.createdAt),
              t.createdBy,
            ]),
          ),
        );
      }),
    );
}
