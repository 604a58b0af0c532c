import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';

/** `edgectl co remove app <id> [--version V]` */
export function register(remove: Command): void {
  remove
    .command('app <id>')
    .description('remove an application, or one of its versions')
    .option('--version <version>', 'remove only this version')
    .action(
      action(async (id: string, opts: { version?: string }, cmd: Command) => {
        const { client } = connect(globals(cmd));
        const r = await client.apps.remove({ id, ...(opts.version ? { version: opts.version } : {}) });
        process.stdout.write(
          `removed ${id} version${r.removedVersions.length > 1 ? 's' : ''} ${r.removedVersions.join(', ')}${r.appRemoved ? ' (no versions left: application removed)' : ''}\n`,
        );
      }),
    );
}
