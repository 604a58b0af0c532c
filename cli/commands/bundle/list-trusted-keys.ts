import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** `edgectl bundle trust list` */
export function register(trust: Command): void {
  trust
    .command('list')
    .description('the trusted keys (removed ones too)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { keys } = await client.bundle.trustList({});
        await emit(format, keys, () =>
          keys.length === 0
            ? 'no trusted keys (pin one with: edgectl bundle trust add FILE)'
            : table(
                ['KEY ID', 'NAME', 'SITE', 'FROM', 'ADDED', 'REMOVED', 'FINGERPRINT'],
                keys.map((k) => [
                  k.keyId,
                  k.name,
                  k.siteId ?? 'any',
                  k.origin === 'rotation' ? `rotation of ${k.rotatedFrom}` : 'operator',
                  new Date(k.addedAt).toISOString(),
                  k.removedAt === null ? null : new Date(k.removedAt).toISOString(),
                  k.fingerprint,
                ]),
              ),
        );
      }),
    );
}
