import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** `edgectl site clients list`: the accepted-client policy and the certificates issued. */
export function register(clients: Command): void {
  clients
    .command('list')
    .description('show the policy and the certificates issued')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.identity.clients({});
        await emit(format, r, () =>
          [
            r.policy.length
              ? table(
                  ['EFFECT', 'SPIFFE ID / PREFIX'],
                  r.policy.map((p) => [p.effect, p.pattern]),
                )
              : 'no policy entries (enrolled nodes are accepted)',
            '',
            table(
              ['CLIENT', 'SERIAL', 'ISSUED', 'EXPIRES', 'REVOKED'],
              r.svids.map((s) => [
                s.clientId,
                s.serialHex.slice(0, 16),
                new Date(s.issuedAt).toISOString(),
                new Date(s.notAfter).toISOString(),
                s.revokedAt ? new Date(s.revokedAt).toISOString() : null,
              ]),
            ),
          ].join('\n'),
        );
      }),
    );
}
