import fs from 'node:fs';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';
import { OutpostError } from '../../../lib/errors/index.js';

/** `edgectl bundle trust add FILE [--site S] [--name N]`, `trust list`, `trust remove KEYID` */
export function register(bundle: Command): void {
  const trust = bundle.command('trust').description('the keys whose bundles this server accepts');
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
        emit(
          format,
          k,
          () =>
            `trusted key ${k.keyId}${k.name ? ` (${k.name})` : ''}${k.siteId ? ` for site ${k.siteId}` : ''}, fingerprint ${k.fingerprint}`,
        );
      }),
    );
  trust
    .command('list')
    .description('the trusted keys (removed ones too)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { keys } = await client.bundle.trustList({});
        emit(format, keys, () =>
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
  trust
    .command('remove <keyId>')
    .description('stop trusting a key: its bundles, and rotations through it, are refused from now on')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (keyId: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const k = await client.bundle.trustRemove({ keyId });
        emit(
          format,
          k,
          () => `removed key ${k.keyId}${k.name ? ` (${k.name})` : ''}: its bundles are refused from now on`,
        );
      }),
    );
}
