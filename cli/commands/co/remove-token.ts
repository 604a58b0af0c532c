import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';

/** `edgectl co remove token <id>`: revoke a token and every token it made. */
export function register(remove: Command): void {
  remove
    .command('token <id>')
    .description('revoke an API token and the tokens it made (their event streams end at once)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.tenants.revokeToken({ id });
        await emit(
          format,
          r,
          () =>
            `revoked token ${r.token.id}` +
            (r.alsoRevoked.length ? `\nalso revoked the tokens it made: ${r.alsoRevoked.join(', ')}` : ''),
        );
      }),
    );
}
