import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { readUpload } from '../../lib/upload.js';
import { emit, parseFormat } from '../../lib/output.js';

/** `edgectl co add device-model --file <file>` */
export function register(add: Command): void {
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
          await emit(format, m, () => `added device model ${m.id}: ${m.vendor} ${m.modelNumber}`);
        },
      ),
    );
}
