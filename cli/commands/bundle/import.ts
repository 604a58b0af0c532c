import path from 'node:path';
import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { runJob, throughputLine, describeReport } from './shared.js';

/** `edgectl bundle import FILE`: verify, then apply in one step (an HQ bundle at a site, a status bundle at HQ). */
export function register(bundle: Command): void {
  bundle
    .command('import <file>')
    .description(
      'verify a bundle, then apply it in one step (site: desired state, artifacts, applications; HQ: statuses, nodes, audit); a refused bundle changes nothing',
    )
    .option('-q, --quiet', 'no progress on stderr')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (file: string, opts: { quiet?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const job = await runJob(client, await client.bundle.import({ file: path.resolve(file) }), {
          quiet: opts.quiet === true,
        });
        const report = job.result!.report!;
        await emit(format, report, () =>
          [
            describeReport(report, Date.now(), job.result!.file),
            `imported bundle #${report.sequence} from ${report.source}: ${throughputLine(job)}`,
          ].join('\n'),
        );
      }),
    );
}
