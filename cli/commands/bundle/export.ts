import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { OutpostError } from '../../../lib/errors/index.js';
import { describeCarried } from '../../../lib/contract/index.js';
import { parseExpires, runJob, throughputLine } from './shared.js';

/** `edgectl bundle export --site S --out FILE|DIR [--full] [--expires 30d] [--drive auto]` (HQ) */
export function register(bundle: Command): void {
  bundle
    .command('export')
    .description(
      'write a signed bundle of everything an air-gapped site lacks: new desired state, application descriptions, OCI artifacts',
    )
    .requiredOption('--site <id>', 'the site the bundle is for')
    .option(
      '--out <file|dir>',
      "the bundle file, or a folder for the default name (paths on the server's machine)",
    )
    .option('--drive <auto|mountpoint>', 'write to a removable drive: auto picks the one mounted')
    .option('--full', 'everything, not only what the site lacks since its last acknowledged bundle')
    .option('--expires <duration>', 'lifetime of the bundle: 30d (default), 12h, 90m')
    .option('--overwrite', 'replace a file of the same name')
    .option('-q, --quiet', 'no progress on stderr')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          opts: {
            site: string;
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
            await client.bundle.export({
              siteId: opts.site,
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
              `wrote ${job.result!.file} (bundle #${s.sequence} for ${opts.site}): ${throughputLine(job)}`,
              `carries ${describeCarried(s.carried)}`,
            ].join('\n'),
          );
        },
      ),
    );
}
