import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';
import {
  renderDeployment,
  explainNotPlaceable,
  waitForDeployment,
  waitTimeoutMs,
  addRolloutOptions,
  rolloutFrom,
  type RolloutFlags,
} from './shared.js';

/** `edgectl co update deployment <id> [--version V] [--set k=v] [rollout flags] [--wait]` */
export function register(update: Command): void {
  const cmd = update
    .command('deployment <id>')
    .description('change the version and/or parameter values of a deployment')
    .option('--version <version>', 'the new application version')
    .option('--set <name=value>', 'a parameter value (repeatable)', collect)
    .option('--wait', 'show progress until every node runs it (exit non-zero when one fails)')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default 600)')
    .option('-o, --output <format>', 'table, json or yaml');
  addRolloutOptions(cmd);
  cmd.action(
    action(
      async (
        id: string,
        opts: RolloutFlags & {
          version?: string;
          set?: string[];
          wait?: boolean;
          timeout?: string;
          output?: string;
        },
        c: Command,
      ) => {
        const format = parseFormat(opts.output);
        const rollout = rolloutFrom(opts);
        const { client } = connect(globals(c));
        const d = await client.deployments
          .update({
            id,
            ...(opts.version ? { version: opts.version } : {}),
            set: parsePairs(opts.set, '--set'),
            ...(rollout ? { rollout } : {}),
          })
          .catch((err: unknown) => explainNotPlaceable(err, format));
        const final = opts.wait
          ? await waitForDeployment(client, id, { timeoutMs: waitTimeoutMs(opts.timeout) })
          : d;
        await emit(format, final, () => renderDeployment(final));
      },
    ),
  );
}
