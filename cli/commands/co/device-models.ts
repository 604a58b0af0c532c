import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, keyValues, parseFormat, table } from '../../lib/output.js';
import { readUpload } from '../../lib/upload.js';

/** `co add|list|show|remove device-model` */
export function registerAdd(add: Command): void {
  add
    .command('device-model')
    .description('register a device model in the Device Store from its YAML or JSON file')
    .requiredOption('--file <file>', 'the model file (see docs/device-models.md)')
    .option('--replace', 'replace an existing model with the same id')
    .option('--follow-symlinks', 'upload what a symbolic link given as --file points to (default: refuse it)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (
          opts: { file: string; replace?: boolean; followSymlinks?: boolean; output?: string },
          cmd: Command,
        ) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const m = await client.deviceModels.add({
            upload: readUpload(opts.file, 'device-model.yaml', {
              followSymlinks: opts.followSymlinks ?? false,
              onNote: (note) => process.stderr.write(`edgectl: ${note}\n`),
            }),
            replace: opts.replace ?? false,
          });
          emit(format, m, () => `added device model ${m.id}: ${m.vendor} ${m.modelNumber}`);
        },
      ),
    );
}

export function registerList(list: Command): void {
  list
    .command('device-models')
    .description('list the device models of the Device Store')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const { models } = await client.deviceModels.list({});
        emit(format, models, () =>
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

export function registerShow(show: Command): void {
  show
    .command('device-model <id>')
    .description('show a device model')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const m = await client.deviceModels.get({ id });
        emit(
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

export function registerRemove(remove: Command): void {
  remove
    .command('device-model <id>')
    .description('remove a device model no node uses')
    .action(
      action(async (id: string, _opts: object, cmd: Command) => {
        const { client } = connect(globals(cmd));
        await client.deviceModels.remove({ id });
        process.stdout.write(`removed device model ${id}\n`);
      }),
    );
}
