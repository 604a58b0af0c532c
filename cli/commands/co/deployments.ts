import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, parseFormat, table } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';
import {
  explainNotPlaceable,
  renderDeployment,
  renderPlacement,
  waitForDeployment,
} from './deployment-view.js';
import {
  addRolloutOptions,
  addTargetOptions,
  rolloutFrom,
  targetFrom,
  type RolloutFlags,
  type TargetOptions,
} from './deploy.js';

/** `co list deployments`, `co show deployment`, `co update deployment`, `co remove deployment`, `co place`, `co promote|pause|resume`. */
export function registerList(list: Command): void {
  list
    .command('deployments')
    .description('list deployments with per-state node counts')
    .option('--app <id>', 'only deployments of this application')
    .option('--all', 'include removed deployments')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (opts: { app?: string; all?: boolean; output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const r = await client.deployments.list({
          ...(opts.app ? { appId: opts.app } : {}),
          includeRemoved: opts.all ?? false,
        });
        emit(format, r, () =>
          r.deployments.length === 0
            ? 'no deployments'
            : table(
                ['#', 'ID', 'APP', 'VERSION', 'STATE', 'NODES', 'INSTALLED', 'FAILED', 'STALE', 'UPDATED'],
                r.deployments.map((d, i) => [
                  i + 1,
                  d.id,
                  d.appId,
                  d.version,
                  d.state,
                  d.nodeCount,
                  d.counts.installed ?? 0,
                  d.counts.failed ?? 0,
                  d.counts.stale ?? 0,
                  `${formatAge(r.now - d.updatedAt)} ago`,
                ]),
              ),
        );
      }),
    );
}

export function registerShow(show: Command): void {
  show
    .command('deployment <id>')
    .description('show a deployment: the state of every node with the age of each report')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(async (id: string, opts: { output?: string }, cmd: Command) => {
        const format = parseFormat(opts.output);
        const { client } = connect(globals(cmd));
        const d = await client.deployments.get({ id });
        emit(format, d, () => renderDeployment(d));
      }),
    );
}

export function registerUpdate(co: Command): void {
  const update = co.command('update').description('update a deployment');
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
          ? await waitForDeployment(client, id, { timeoutMs: (Number(opts.timeout ?? 600) || 600) * 1000 })
          : d;
        emit(format, final, () => renderDeployment(final));
      },
    ),
  );
}

export function registerRemove(remove: Command): void {
  remove
    .command('deployment <id>')
    .description('remove a deployment from all its nodes (they report removing, then removed)')
    .option('--wait', 'show progress until every node reports removed')
    .option('--timeout <seconds>', 'with --wait: give up after this long (default 600)')
    .option('-o, --output <format>', 'table, json or yaml')
    .action(
      action(
        async (id: string, opts: { wait?: boolean; timeout?: string; output?: string }, cmd: Command) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const d = await client.deployments.remove({ id });
          const final = opts.wait
            ? await waitForDeployment(client, id, { timeoutMs: (Number(opts.timeout ?? 600) || 600) * 1000 })
            : d;
          emit(format, final, () => renderDeployment(final));
        },
      ),
    );
}

export function registerPlace(co: Command): void {
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
        emit(
          format,
          r,
          () =>
            `${r.appId} ${r.version}, profile ${r.profileId} (${r.profileType}): ${renderPlacement(r.placement)}`,
        );
      },
    ),
  );
}

export function registerSignals(co: Command): void {
  for (const what of ['promote', 'pause', 'resume'] as const) {
    co.command(`${what} <deployment>`)
      .description(
        what === 'promote' ? 'promote a canary rollout to the remaining nodes' : `${what} a rollout`,
      )
      .option('-o, --output <format>', 'table, json or yaml')
      .action(
        action(async (id: string, opts: { output?: string }, cmd: Command) => {
          const format = parseFormat(opts.output);
          const { client } = connect(globals(cmd));
          const d = await client.deployments[what]({ id });
          emit(format, d, () => renderDeployment(d));
        }),
      );
  }
}
