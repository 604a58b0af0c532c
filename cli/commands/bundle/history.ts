import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, parseFormat, table } from '../../lib/output.js';
import { describeCarried, formatBytes, type BundleSummaryView } from '../../../lib/contract/index.js';

/** `edgectl bundle history [--site S]`: the last bundle each way per site. */
export function register(bundle: Command): void {
  bundle
    .command('history')
    .description(
      'the last bundle each way per site: sequence, time, size, what it carried, the acknowledgement',
    )
    .option('--site <id>', 'only this site')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { site?: string; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.bundle.streams(opts.site ? { siteId: opts.site } : {});
        const now = Date.now();
        const cell = (s: BundleSummaryView | null, at: number | null) =>
          s && at !== null
            ? `#${s.sequence}, ${formatAge(Math.max(0, now - s.created))} ago, ${formatBytes(s.bytes)}: ${describeCarried(s.carried)}`
            : null;
        await emit(format, r, () =>
          r.streams.length === 0
            ? 'no bundles yet'
            : table(
                ['SITE', 'STREAM', 'WAY', 'LAST WRITTEN', 'LAST IMPORTED', 'ACKNOWLEDGED'],
                r.streams.map((s) => [
                  s.siteId,
                  `${s.source} -> ${s.target}`,
                  s.direction === 'out' ? 'out' : 'in',
                  cell(s.lastExported, s.lastExportedAt),
                  cell(s.lastImported, s.lastImportedAt),
                  s.acknowledged === null ? null : `#${s.acknowledged}`,
                ]),
              ),
        );
      }),
    );
}
