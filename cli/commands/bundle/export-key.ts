import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { OutpostError } from '../../../lib/errors/index.js';

/** `edgectl bundle key export [--out FILE]` */
export function register(key: Command): void {
  key
    .command('export')
    .description("write this server's signing public key in minisign's format (the key is made on first use)")
    .option('--out <file>', 'the public key file (default: print it)')
    .option('--force', 'replace an existing file')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { out?: string; force?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const k = await client.bundle.exportKey({});
        if (opts.out === undefined) {
          if (format === 'table') process.stdout.write(k.publicKey);
          else await emit(format, k, () => '');
          return;
        }
        const file = path.resolve(opts.out);
        try {
          fs.writeFileSync(file, k.publicKey, { mode: 0o644, flag: opts.force ? 'w' : 'wx' });
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EEXIST')
            throw new OutpostError('already-exists', `${file} already exists (--force replaces it)`);
          if (code === 'ENOENT') throw new OutpostError('not-found', `${path.dirname(file)}: no such folder`);
          throw new OutpostError('invalid-input', `cannot write ${file}: ${(err as Error).message}`);
        }
        await emit(
          format,
          k,
          () =>
            `wrote ${file}: key ${k.keyId}, fingerprint ${k.fingerprint}\ncompare the fingerprint out of band, then at the other end: edgectl bundle trust add ${path.basename(file)}`,
        );
      }),
    );
}
