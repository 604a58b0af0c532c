import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';

/** `edgectl bundle key rotate` */
export function register(key: Command): void {
  key
    .command('rotate')
    .description('make a new signing key; the old key signs it and the next bundles carry the rotation')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.bundle.rotateKey({});
        await emit(format, r, () =>
          keyValues([
            ['new key', `${r.current.keyId} (${r.current.fingerprint})`],
            ['old key', `${r.previous.keyId}, retired; it signed the new key`],
            [
              'next',
              'bundles carry the rotation until the other side acknowledges one signed by the new key',
            ],
          ]),
        );
      }),
    );
}
