import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, parseFormat, table } from '../../lib/output.js';

/** `edgectl co list deployments`: per-state node counts */
export function register(list: Command): void {
  list
    .command('deployments')
    .description('list deployments with per-state node counts')
    .option('--app <id>', 'only deployments of this application')
    .option('--all', 'include removed deployments')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { app?: string; all?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.deployments.list({
          ...(opts.app ? { appId: opts.app } : {}),
          includeRemoved: opts.all ?? false,
        });
        await emit(format, r, () =>
          r.deployments.length === 0
            ? 'no deployments'
            : table(
                ['#', 'ID', 'APP', 'VERSION', 'STATE', 'NODES', 'INSTALLED', 'FAILED', 'STALE', 'UPDATED'],
                r.deployments.map((d, i) => [
                  i + 1,
                  d.id,
                  d.appId,
                  d.version,
                  d.state,
                  d.nodeCount,
                  d.counts.installed ?? 0,
                  d.counts.failed ?? 0,
                  d.counts.stale ?? 0,
                  `${formatAge(r.now - d.updatedAt)} ago`,
                ]),
              ),
        );
      }),
    );
}
