import fs from 'node:fs';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { OutpostError } from '../../../lib/errors/index.js';

/**
 * `edgectl site ca trust add <file>`: another CA whose client certificates the site accepts once they
 * are registered for a node (ADR 0463).
 */
export function register(trust: Command): void {
  trust
    .command('add <file>')
    .description(
      "add a CA certificate (PEM) to the site's trust; its certificates still need `co add node --certificate`",
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (file: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        let certPem: string;
        try {
          certPem = fs.readFileSync(file, 'utf8');
        } catch (e) {
          throw new OutpostError(
            'invalid-input',
            `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
        const { client } = connect(globals(cmd));
        const r = await client.identity.trustCa({ certPem });
        await emit(
          format,
          r,
          () => `trusted ${r.subject} (${r.fingerprint}) until ${new Date(r.notAfter).toISOString()}`,
        );
      }),
    );
}
