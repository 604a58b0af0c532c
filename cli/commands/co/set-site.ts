import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { describeSiteReach } from '../../../lib/contract/index.js';
import { OutpostError } from '../../../lib/errors/index.js';

/** `edgectl co set-site <id> --air-gapped|--connected` */
export function register(co: Command): void {
  co.command('set-site <id>')
    .description('change how a site is reached: --air-gapped (signed bundles only) or --connected')
    .option('--air-gapped', 'reached only by signed bundles on removable drives')
    .option('--connected', 'reached over the network (bus link, git)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          id: string,
          opts: { airGapped?: boolean; connected?: boolean; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          if (opts.airGapped === opts.connected)
            throw new OutpostError('invalid-input', 'give exactly one of --air-gapped and --connected');
          const { client } = connect(globals(cmd));
          const s = await client.sites.set({ id, airGapped: opts.airGapped === true });
          await emit(format, s, () => `site ${s.id}: ${describeSiteReach(s, Date.now())}`);
        },
      ),
    );
}
