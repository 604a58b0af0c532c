import type { Command } from 'commander';
import { action } from '../../lib/action.js';
import { connect, globals } from '../../lib/context.js';
import { emit, parseFormat } from '../../lib/output.js';
import { collect, parsePairs } from '../../lib/args.js';
import { OutpostError } from '../../../lib/errors/index.js';
import type { DeploymentTarget, RolloutOptions } from '../../../lib/contract/index.js';
import { explainNotPlaceable, renderDeployment, waitForDeployment } from './deployment-view.js';

export interface TargetOptions {
  node?: string[];
  site?: string;
  selector?: string[];
  prefer?: string[];
  replicas?: string;
  all?: boolean;
}

export function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--node <name>', 'a target node (repeatable)', collect)
    .option('--site <site>', 'every eligible node of a site (or --replicas of them)')
    .option('--selector <key=value>', 'only nodes with this label (repeatable, ANDed)', collect)
    .option(
      '--prefer <key=value>',
      'favour nodes with this label (repeatable; default: outpost.dev/preferred=true)',
      collect,
    )
    .option('--replicas <n>', 'place on this many nodes (the best ones)')
    .option('--all', 'every eligible node (the default for --site)');
}

export function targetFrom(opts: TargetOptions): DeploymentTarget {
  const selector = parsePairs(opts.selector, 'selector');
  if (!opts.node?.length && !opts.site && Object.keys(selector).length === 0) {
    throw new OutpostError(
      'invalid-input',
      'name the target: --node N (repeatable), or --site S [--selector k=v]',
    );
  }
  if (opts.node?.length && opts.site)
    throw new OutpostError('invalid-input', 'give --node or --site, not both');
  let replicas: number | 'all' | undefined;
  if (opts.all) replicas = 'all';
  if (opts.replicas !== undefined) {
    const n = Number(opts.replicas);
    if (!Number.isInteger(n) || n < 1)
      throw new OutpostError(
        'invalid-input',
        `--replicas: "${opts.replicas}" is not a positive whole number`,
      );
    if (opts.all) throw new OutpostError('invalid-input', 'give --replicas or --all, not both');
    replicas = n;
  }
  return {
    ...(opts.node?.length ? { nodes: opts.node } : {}),
    ...(opts.site ? { siteId: opts.site } : {}),
    ...(Object.keys(selector).length ? { selector } : {}),
    ...(opts.prefer?.length ? { prefer: parsePairs(opts.prefer, 'prefer') } : {}),
    ...(replicas !== undefined ? { replicas } : {}),
  };
}

export interface RolloutFlags {
  strategy?: string;
  batchSize?: string;
  batchPercent?: string;
  maxUnavailable?: string;
  canary?: string;
  promote?: string;
  failureThreshold?: string;
  autoRollback?: boolean;
  installTimeout?: string;
}

export function addRolloutOptions(cmd: Command): Command {
  return cmd
    .option('--strategy <kind>', 'all-at-once (default), batches or canary')
    .option('--batch-size <n>', 'batches: nodes per batch')
    .option('--batch-percent <p>', 'batches: percent of the nodes per batch')
    .option('--max-unavailable <n|p%>', 'batches: nodes allowed to be not yet installed at once')
    .option('--canary <n>', 'canary: nodes that take it first')
    .option(
      '--promote <manual|seconds>',
      'canary: wait for "edgectl co promote", or promote automatically after a soak time in seconds',
    )
    .option('--failure-threshold <n|p%>', 'failed nodes tolerated before the rollout stops (default 0)')
    .option(
      '--install-timeout <seconds>',
      'a node not installed this long after it was told counts as failed (default: no limit)',
    )
    .option(
      '--no-auto-rollback',
      'on a failed update, leave the nodes as they are instead of returning them to the previous version',
    );
}

const countOrPercent = (v: string, flag: string): number | string => {
  if (/^\d{1,3}%$/.test(v)) return v;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new OutpostError(
      'invalid-input',
      `${flag}: "${v}" is neither a whole number nor a percentage like 25%`,
    );
  return n;
};
const positive = (v: string, flag: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new OutpostError('invalid-input', `${flag}: "${v}" is not a positive whole number`);
  return n;
};

export function rolloutFrom(f: RolloutFlags): RolloutOptions | undefined {
  const kind =
    f.strategy ??
    (f.canary ? 'canary' : f.batchSize || f.batchPercent || f.maxUnavailable ? 'batches' : undefined);
  const extra = {
    ...(f.failureThreshold !== undefined
      ? { failureThreshold: countOrPercent(f.failureThreshold, '--failure-threshold') }
      : {}),
    ...(f.autoRollback === false ? { autoRollback: false } : {}),
    ...(f.installTimeout !== undefined
      ? { installTimeoutSeconds: positive(f.installTimeout, '--install-timeout') }
      : {}),
  };
  const batches = {
    ...(f.batchSize ? { size: positive(f.batchSize, '--batch-size') } : {}),
    ...(f.batchPercent ? { percent: Number(f.batchPercent) } : {}),
    ...(f.maxUnavailable ? { maxUnavailable: countOrPercent(f.maxUnavailable, '--max-unavailable') } : {}),
  };
  if (kind === undefined)
    return Object.keys(extra).length ? { strategy: { kind: 'all-at-once' }, ...extra } : undefined;
  if (kind === 'all-at-once') return { strategy: { kind }, ...extra };
  if (kind === 'batches') return { strategy: { kind, ...batches }, ...extra };
  if (kind === 'canary') {
    if (!f.canary) throw new OutpostError('invalid-input', '--strategy canary needs --canary <n>');
    const promote =
      !f.promote || f.promote === 'manual'
        ? ('manual' as const)
        : { afterSeconds: positive(f.promote, '--promote') };
    const then = Object.keys(batches).length
      ? { kind: 'batches' as const, ...batches }
      : { kind: 'all-at-once' as const };
    return { strategy: { kind, canary: positive(f.canary, '--canary'), promote, then }, ...extra };
  }
  throw new OutpostError('invalid-input', `--strategy: "${kind}" is not one of all-at-once, batches, canary`);
}

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
          const final = await waitForDeployment(client, d.id, {
            timeoutMs: (Number(opts.timeout ?? 600) || 600) * 1000,
          });
          emit(format, final, () => renderDeployment(final));
          return;
        }
        emit(format, d, () => renderDeployment(d));
      },
    ),
  );
}
