import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { OutpostError } from '../../../lib/errors/index.js';
import { describeCarried } from '../../../lib/contract/index.js';
import { parseExpires, runJob, throughputLine } from './shared.js';

/** `edgectl bundle export-status --out FILE|DIR [--drive auto]` (the LO of an air-gapped site) */
export function register(bundle: Command): void {
  bundle
    .command('export-status')
    .description(
      "write this site's signed status bundle for HQ: deployment statuses, nodes, audit entries and events since HQ's last acknowledgement",
    )
    .option(
      '--out <file|dir>',
      "the bundle file, or a folder for the default name (paths on the server's machine)",
    )
    .option('--drive <auto|mountpoint>', 'write to a removable drive: auto picks the one mounted')
    .option('--full', 'everything, not only what HQ has not acknowledged')
    .option('--expires <duration>', 'lifetime of the bundle: 30d (default), 12h, 90m')
    .option('--overwrite', 'replace a file of the same name')
    .option('-q, --quiet', 'no progress on stderr')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          opts: {
            out?: string;
            drive?: string;
            full?: boolean;
            expires?: string;
            overwrite?: boolean;
            quiet?: boolean;
            output?: string;
          },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          if (opts.out === undefined && opts.drive === undefined)
            throw new OutpostError(
              'invalid-input',
              'say where the bundle goes: --out FILE|DIR or --drive auto',
            );
          const expiresDays = parseExpires(opts.expires);
          const { client } = connect(globals(cmd));
          const job = await runJob(
            client,
            await client.bundle.exportStatus({
              full: opts.full === true,
              overwrite: opts.overwrite === true,
              ...(opts.out !== undefined ? { out: path.resolve(opts.out) } : {}),
              ...(opts.drive !== undefined
                ? { drive: opts.drive === 'auto' ? 'auto' : path.resolve(opts.drive) }
                : {}),
              ...(expiresDays !== undefined ? { expiresDays } : {}),
            }),
            { quiet: opts.quiet === true },
          );
          const s = job.result!.summary!;
          await emit(format, job.result, () =>
            [
              `wrote ${job.result!.file} (status bundle #${s.sequence}): ${throughputLine(job)}`,
              `carries ${describeCarried(s.carried)}`,
            ].join('\n'),
          );
        },
      ),
    );
}
