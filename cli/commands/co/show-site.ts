import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat } from '../../lib/output.js';
import { describeAsOf, describeSiteReach } from '../../../lib/contract/index.js';

/** `edgectl co show site <id>` */
export function register(show: Command): void {
  show
    .command('site <id>')
    .description('show a site')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const s = await client.sites.get({ id });
        await emit(format, s, () =>
          keyValues([
            ['id', s.id],
            ['name', s.name],
            ['description', s.description],
            ['served by', s.servedBy === 'embedded' ? 'this server' : 'remote LO'],
            ['reached', describeSiteReach(s, Date.now())],
            [
              'last bundle to site',
              s.bundles?.toSite
                ? `#${s.bundles.toSite.sequence}, made ${formatAge(Date.now() - s.bundles.toSite.created)} ago`
                : null,
            ],
            [
              'last status bundle',
              s.bundles?.fromSite
                ? `#${s.bundles.fromSite.sequence}, ${describeAsOf(s.bundles.fromSite.created, Date.now())}`
                : null,
            ],
            [
              'orchestrator',
              s.orchestrator ? `${s.orchestrator.id} ${s.orchestrator.mmiUrl ?? ''}`.trim() : null,
            ],
            ['nodes', s.nodeCount],
            [
              'labels',
              Object.entries(s.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || null,
            ],
          ]),
        );
      }),
    );
}
