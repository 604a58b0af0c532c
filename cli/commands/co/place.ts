import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { renderPlacement, addTargetOptions, targetFrom, type TargetOptions } from './shared.js';

/** `edgectl co place --app <id> <target flags>`: a dry run of placement, every candidate with the reason */
export function register(co: Command): void {
  const cmd = co
    .command('place')
    .description('dry run of placement: every candidate node, placed or not, with the reason')
    .requiredOption('--app <id>', 'the application')
    .option('--version <version>', 'its version (default: the newest)')
    .option('--profile <id>', 'its deployment profile (default: the first)')
    .option('-o, --output <format>', 'table, json or yaml');
  addTargetOptions(cmd);
  cmd.action(
    action(
      async (
        opts: TargetOptions & { app: string; version?: string; profile?: string; output?: string },
        c: Command,
      ) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(c));
        const r = await client.deployments.place({
          appId: opts.app,
          ...(opts.version ? { version: opts.version } : {}),
          ...(opts.profile ? { profileId: opts.profile } : {}),
          target: targetFrom(opts),
        });
        await emit(
          format,
          r,
          () =>
            `${r.appId} ${r.version}, profile ${r.profileId} (${r.profileType}): ${renderPlacement(r.placement)}`,
        );
      },
    ),
  );
}
