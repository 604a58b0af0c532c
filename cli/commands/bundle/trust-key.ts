import fs from 'node:fs';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { OutpostError } from '../../../lib/errors/index.js';

/** `edgectl bundle trust add FILE [--site S] [--name N]` */
export function register(trust: Command): void {
  trust
    .command('add <file>')
    .description(
      "pin a minisign public key (a file, or - for stdin): the LO pins HQ's key; HQ pins each site LO's key with --site",
    )
    .option('--site <id>', "pinned for one site: only that site's status bundles are accepted with it")
    .option('--name <name>', 'a name for it')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (file: string, opts: { site?: string; name?: string; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        let text: string;
        try {
          if (file !== '-' && fs.statSync(file).size > 4096)
            throw new OutpostError('invalid-input', `${file} is too large to be a public key file`);
          text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (err) {
          if (err instanceof OutpostError) throw err;
          throw new OutpostError('not-found', `${file}: no such file`);
        }
        const { client } = connect(globals(cmd));
        const k = await client.bundle.trustAdd({
          publicKey: text,
          ...(opts.site ? { siteId: opts.site } : {}),
          ...(opts.name ? { name: opts.name } : {}),
        });
        await emit(
          format,
          k,
          () =>
            `trusted key ${k.keyId}${k.name ? ` (${k.name})` : ''}${k.siteId ? ` for site ${k.siteId}` : ''}, fingerprint ${k.fingerprint}`,
        );
      }),
    );
}
