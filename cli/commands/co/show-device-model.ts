import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat } from '../../lib/output.js';

/** `edgectl co show device-model <id>` */
export function register(show: Command): void {
  show
    .command('device-model <id>')
    .description('show a device model')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const m = await client.deviceModels.get({ id });
        await emit(
          format,
          m,
          () =>
            keyValues([
              ['id', m.id],
              ['name', m.name],
              ['vendor', m.vendor],
              ['model number', m.modelNumber],
              ['description', m.description],
              ['runtimes', m.runtimes.join(', ')],
              ['deployment types', m.deploymentTypes.join(', ')],
              ['documentation', m.documentationUrl],
              ['nodes', m.nodeCount],
            ]) + `\ncapabilities:\n${JSON.stringify(m.capabilities, null, 2)}`,
        );
      }),
    );
}
