import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat, table } from '../../lib/output.js';

/** `edgectl co list device-models` */
export function register(list: Command): void {
  list
    .command('device-models')
    .description('list the device models of the Device Store')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { models } = await client.deviceModels.list({});
        await emit(format, models, () =>
          models.length === 0
            ? 'no device models yet (add one with: edgectl co add device-model --file <file>)'
            : table(
                ['#', 'ID', 'VENDOR', 'MODEL', 'RUNTIMES', 'DEPLOYMENT TYPES', 'NODES'],
                models.map((m, i) => [
                  i + 1,
                  m.id,
                  m.vendor,
                  m.modelNumber,
                  m.runtimes.join(','),
                  m.deploymentTypes.join(','),
                  m.nodeCount,
                ]),
              ),
        );
      }),
    );
}
