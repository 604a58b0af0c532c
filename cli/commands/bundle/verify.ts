import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { runJob, describeReport } from './shared.js';

/** `edgectl bundle verify FILE`: checks a bundle against the trusted keys and this server; changes nothing. */
export function register(bundle: Command): void {
  bundle
    .command('verify <file>')
    .description(
      'check a bundle (signature, every digest, sequence, expiry, site, fast-forward) and print what importing it would change; changes nothing',
    )
    .option('-q, --quiet', 'no progress on stderr')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (file: string, opts: { quiet?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const job = await runJob(client, await client.bundle.verify({ file: path.resolve(file) }), {
          quiet: opts.quiet === true,
        });
        const report = job.result!.report!;
        await emit(format, report, () =>
          [
            describeReport(report, Date.now(), job.result!.file),
            `verified: nothing was changed; import it with: edgectl bundle import ${file}`,
          ].join('\n'),
        );
      }),
    );
}
