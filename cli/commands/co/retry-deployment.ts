import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { renderDeployment, waitForDeployment, waitTimeoutMs } from './shared.js';

/**
 * `edgectl co retry <deployment>`: resumes a rollout a failure stopped (failed or rolled back) from the step
 * where it stopped, once no node reports the failure any more (issue 12, ADR 0501).
 */
export function register(co: Command): void {
  co.command('retry <deployment>')
    .description(
      'resume a rollout that a failure stopped, from where it stopped, once no node reports the failure',
    )
    .option('--wait', 'show progress until the rollout is done')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default 600)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (id: string, opts: { wait?: boolean; timeout?: string; output?: string }, cmd: Command) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const d = await client.deployments.retry({ id });
          const final = opts.wait
            ? await waitForDeployment(client, id, { timeoutMs: waitTimeoutMs(opts.timeout) })
            : d;
          await emit(format, final, () => renderDeployment(final));
        },
      ),
    );
}
