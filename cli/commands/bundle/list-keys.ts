import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** `edgectl bundle key list` */
export function register(key: Command): void {
  key
    .command('list')
    .description("this server's signing keys (current and retired)")
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { keys } = await client.bundle.keys({});
        await emit(format, keys, () =>
          keys.length === 0
            ? 'no signing key yet (made on first use: edgectl bundle key export)'
            : table(
                ['KEY ID', 'CURRENT', 'STORED', 'CREATED', 'RETIRED', 'FINGERPRINT'],
                keys.map((k) => [
                  k.keyId,
                  k.current ? 'yes' : '',
                  k.storage === 'sealed' ? 'keychain' : '0600 file',
                  new Date(k.createdAt).toISOString(),
                  k.retiredAt === null ? null : new Date(k.retiredAt).toISOString(),
                  k.fingerprint,
                ]),
              ),
        );
      }),
    );
}
