import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';
import { presenceText, capsSummary } from './shared.js';

/** `edgectl co list nodes`: presence with its age */
export function register(list: Command): void {
  list
    .command('nodes')
    .description('list nodes with their presence and its age (never shown online unless recently seen)')
    .option('--site <site>', 'only this site')
    .option('--selector <key=value>', 'only nodes with this label (repeatable, ANDed)', collect)
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { site?: string; selector?: string[]; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const selector = parsePairs(opts.selector, 'selector');
        const r = await client.nodes.list({
          ...(opts.site ? { siteId: opts.site } : {}),
          ...(Object.keys(selector).length ? { selector } : {}),
        });
        await emit(format, r, () =>
          r.nodes.length === 0
            ? 'no nodes'
            : table(
                ['#', 'NAME', 'SITE', 'STATE', 'PRESENCE', 'MODEL', 'CORDONED', 'CAPACITY', 'LABELS'],
                r.nodes.map((n, i) => [
                  i + 1,
                  n.name,
                  n.siteId,
                  n.state,
                  presenceText(n, r.now),
                  n.modelId,
                  n.cordoned ? 'yes' : 'no',
                  capsSummary(n),
                  Object.entries(n.labels)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(',') || null,
                ]),
              ) +
              `\n(stale after ${r.staleAfterSeconds}s without contact, offline after ${r.offlineAfterSeconds}s)`,
        );
      }),
    );
}
