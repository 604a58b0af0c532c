import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';

/** `edgectl co add site <id>` */
export function register(add: Command): void {
  add
    .command('site <id>')
    .description('create a site')
    .option('--name <name>', 'display name')
    .option('--description <text>', 'description')
    .option('--label <key=value>', 'a label (repeatable)', collect)
    .option('--remote', 'the site is served by a remote Local Orchestrator (default: this server)')
    .option(
      '--air-gapped',
      'the site is reached only by signed bundles on removable drives (served by its own LO; no bus link, no git push)',
    )
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          id: string,
          opts: {
            name?: string;
            description?: string;
            label?: string[];
            remote?: boolean;
            airGapped?: boolean;
            output?: string;
          },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const s = await client.sites.add({
            id,
            ...(opts.name ? { name: opts.name } : {}),
            ...(opts.description ? { description: opts.description } : {}),
            labels: parsePairs(opts.label, 'label'),
            ...(opts.remote || opts.airGapped ? { servedBy: 'remote' as const } : {}),
            airGapped: opts.airGapped === true,
          });
          await emit(
            format,
            s,
            () =>
              `added site ${s.id} (${s.name}), served by ${s.servedBy === 'embedded' ? 'this server' : 'a remote LO'}${s.airGapped ? ', air-gapped: carry bundles with edgectl bundle export --site ' + s.id : ''}`,
          );
        },
      ),
    );
}
