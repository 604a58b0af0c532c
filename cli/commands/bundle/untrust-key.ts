import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';

/** `edgectl bundle trust remove KEYID` */
export function register(trust: Command): void {
  trust
    .command('remove <keyId>')
    .description('stop trusting a key: its bundles, and rotations through it, are refused from now on')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (keyId: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const k = await client.bundle.trustRemove({ keyId });
        await emit(
          format,
          k,
          () => `removed key ${k.keyId}${k.name ? ` (${k.name})` : ''}: its bundles are refused from now on`,
        );
      }),
    );
}
