import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';
import { describeSiteReach } from '../../../lib/contract/index.js';

/** `edgectl co list sites` */
export function register(list: Command): void {
  list
    .command('sites')
    .description('list the sites')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { sites } = await client.sites.list({});
        const now = Date.now();
        await emit(format, sites, () =>
          sites.length === 0
            ? 'no sites yet (add one with: edgectl co add site <id>)'
            : table(
                ['#', 'ID', 'NAME', 'SERVED BY', 'REACHED', 'NODES', 'LABELS'],
                sites.map((s, i) => [
                  i + 1,
                  s.id,
                  s.name,
                  s.servedBy === 'embedded'
                    ? 'this server'
                    : `remote${s.orchestrator ? ` (${s.orchestrator.id})` : ''}`,
                  describeSiteReach(s, now),
                  s.nodeCount,
                  Object.entries(s.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(',') || null,
                ]),
              ),
        );
      }),
    );
}
