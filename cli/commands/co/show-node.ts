import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat } from '../../lib/output.js';
import { presenceText, capsSummary } from './shared.js';

/** `edgectl co show node <name>` */
export function register(show: Command): void {
  show
    .command('node <name>')
    .description('show a node, its capabilities and child devices')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (name: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const n = await client.nodes.get({ name });
        const now = Date.now();
        await emit(format, n, () =>
          keyValues([
            ['name', n.name],
            ['client id', n.uid],
            ['site', n.siteId],
            ['state', n.state],
            ['presence', presenceText(n, now)],
            ['model', n.modelId],
            ['cordoned', n.cordoned ? 'yes' : 'no'],
            [
              'labels',
              Object.entries(n.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(', ') || null,
            ],
            [
              'capabilities',
              n.capabilitiesAt
                ? `reported ${formatAge(now - n.capabilitiesAt)} ago: ${capsSummary(n) ?? '-'}`
                : 'not reported yet',
            ],
            ['children', n.children.map((c) => c.deviceId).join(', ') || null],
          ]),
        );
      }),
    );
}
