import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** `edgectl site ca trust list`: the CAs in the site's trust besides the site CA. */
export function register(trust: Command): void {
  trust
    .command('list')
    .description("the CAs in the site's trust besides the site CA")
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.identity.trustedCas({});
        await emit(format, r, () =>
          r.cas.length === 0
            ? 'no other CAs trusted'
            : table(
                ['FINGERPRINT', 'SUBJECT', 'NOT AFTER', 'ADDED BY'],
                r.cas.map((c) => [c.fingerprint, c.subject, new Date(c.notAfter).toISOString(), c.addedBy]),
              ),
        );
      }),
    );
}
