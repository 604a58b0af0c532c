import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';

/** `edgectl co add node <name> --site <site>` */
export function register(add: Command): void {
  add
    .command('node <name>')
    .description('register a node (host) at a site, before it enrolls')
    .requiredOption('--site <site>', 'the site')
    .option('--model <id>', 'its device model')
    .option('--label <key=value>', 'a label (repeatable)', collect)
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          name: string,
          opts: { site: string; model?: string; label?: string[]; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const n = await client.nodes.add({
            name,
            siteId: opts.site,
            ...(opts.model ? { modelId: opts.model } : {}),
            labels: parsePairs(opts.label, 'label'),
          });
          emit(format, n, () => `added node ${n.name} at site ${n.siteId} (client id ${n.uid})`);
        },
      ),
    );
}
