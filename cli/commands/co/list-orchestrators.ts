import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, parseFormat, table } from '../../lib/output.js';

/** `edgectl co list orchestrators` */
export function register(list: Command): void {
  list
    .command('orchestrators')
    .description('list the remote Local Orchestrators and the sites they serve')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { orchestrators } = await client.sites.listOrchestrators({});
        const now = Date.now();
        await emit(format, orchestrators, () =>
          orchestrators.length === 0
            ? 'no remote Local Orchestrators (register one with: edgectl co add orchestrator <id> --site S)'
            : table(
                ['#', 'ID', 'SITE', 'NAME', 'MMI URL', 'LAST SEEN'],
                orchestrators.map((o, i) => [
                  i + 1,
                  o.id,
                  o.siteId,
                  o.name,
                  o.mmiUrl,
                  o.lastSeenAt === null ? 'never' : `${formatAge(now - o.lastSeenAt)} ago`,
                ]),
              ),
        );
      }),
    );
}
