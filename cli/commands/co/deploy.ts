import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';
import {
  addRolloutOptions,
  addTargetOptions,
  explainNotPlaceable,
  renderDeployment,
  rolloutFrom,
  targetFrom,
  waitForDeployment,
  waitTimeoutMs,
  type RolloutFlags,
  type TargetOptions,
} from './shared.js';

/** `edgectl co deploy --app <id> ... [--wait]` */
export function register(co: Command): void {
  const cmd = co
    .command('deploy')
    .description(
      'deploy an application version to nodes chosen by placement (one commit to the deployments repository)',
    )
    .requiredOption('--app <id>', 'the application')
    .option('--version <version>', 'its version (default: the newest)')
    .option('--profile <id>', 'its deployment profile (default: the first)')
    .option('--name <name>', 'a name for the deployment')
    .option('--set <name=value>', 'a parameter value (repeatable)', collect)
    .option('--wait', 'show progress until every node reports installed (exit non-zero when one fails)')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default 600)')
    .option('-o, --output <format>', 'table, json or yaml');
  addTargetOptions(cmd);
  addRolloutOptions(cmd);
  cmd.action(
    action(
      async (
        opts: TargetOptions &
          RolloutFlags & {
            app: string;
            version?: string;
            profile?: string;
            name?: string;
            set?: string[];
            wait?: boolean;
            timeout?: string;
            output?: string;
          },
        c: Command,
      ) => {
        const format = parseFormat(opts.output);
        const target = targetFrom(opts);
        const rollout = rolloutFrom(opts);
        const { client } = connect(globals(c));
        const d = await client.deployments
          .create({
            appId: opts.app,
            ...(opts.version ? { version: opts.version } : {}),
            ...(opts.profile ? { profileId: opts.profile } : {}),
            ...(opts.name ? { name: opts.name } : {}),
            target,
            set: parsePairs(opts.set, '--set'),
            ...(rollout ? { rollout } : {}),
          })
          .catch((err: unknown) => explainNotPlaceable(err, format));
        if (opts.wait) {
          process.stderr.write(
            `deployment ${d.id}: ${d.appId} ${d.version} to ${d.nodeCount} node${d.nodeCount === 1 ? '' : 's'}\n`,
          );
          const final = await waitForDeployment(client, d.id, { timeoutMs: waitTimeoutMs(opts.timeout) });
          await emit(format, final, () => renderDeployment(final));
          return;
        }
        await emit(format, d, () => renderDeployment(d));
      },
    ),
  );
}
