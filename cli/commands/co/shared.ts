/**
 * What the `edgectl co` commands share (one file per command beside it): the target and rollout flags
 * of `deploy`, `place` and `update deployment`; how a deployment, its rollout and a refused placement
 * are shown; following a deployment with `--wait`; the rollout signals; a node's presence and capacity;
 * times and states in token listings.
 */
import type { Command } from 'commander';
import { OutpostError } from '../../../lib/errors/index.js';
import type {
  ClientOf,
  Contract,
  DeploymentNode,
  DeploymentTarget,
  ApiTokenInfo,
  DeploymentView,
  Node,
  RolloutOptions,
} from '../../../lib/contract/index.js';
import type { PlacementResult } from '../../../lib/model/index.js';
import { action } from '../../lib/action.js';
import { collect, parsePairs } from '../../lib/args.js';
import { connect, globals } from '../../lib/context.js';
import { emit, formatAge, keyValues, parseFormat, table, type OutputFormat } from '../../lib/output.js';

// ---- target and rollout flags (deploy, place, update deployment)

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

// ---- showing deployments and placements

function nodeState(n: DeploymentNode): string {
  const s =
    n.state === 'installed' && !n.current && n.desired === 'present'
      ? 'installing (older revision)'
      : n.state;
  return n.stale ? `${s} (stale: node ${n.presence})` : s;
}

/**
 * When the node reached its state (the report's event time, ADR 0169), and how much later the report
 * arrived when it waited on the way (an agent's outbox while the LO was away, a site's link cut).
 */
export function reportAge(n: DeploymentNode, now: number): string {
  if (n.stateAt === null) return 'no report yet';
  const late = n.receivedAt !== null ? n.receivedAt - n.stateAt : 0;
  return `${formatAge(now - n.stateAt)} ago${late >= 2000 ? ` (arrived ${formatAge(late)} later)` : ''}`;
}

/** Every candidate node, placed or not, with the reason ("why not this node"); `co place` and a refused deploy. */
export function renderPlacement(p: PlacementResult): string {
  const rows = p.candidates.map((c) => [
    c.name,
    c.siteId,
    c.placed ? `yes (#${c.rank})` : c.eligible ? 'eligible, not chosen' : 'no',
    c.score === null ? null : Math.round(c.score),
    c.reasons.map((x) => x.message).join('; ') || null,
  ]);
  return `${p.summary}\n\n${table(['NODE', 'SITE', 'PLACED', 'SCORE', 'WHY'], rows)}`;
}

/** The placement a `not-placeable` error carries (the engine's full answer), if any. */
export function placementOf(err: unknown): PlacementResult | undefined {
  if (!(err instanceof OutpostError) || err.code !== 'not-placeable') return undefined;
  const p = (err.data as { placement?: PlacementResult } | undefined)?.placement;
  return p && Array.isArray(p.candidates) ? p : undefined;
}

/**
 * A refused deployment (not placeable) shows the same "why not this node" table as `co place` on stdout
 * (or the placement as JSON/YAML); the one-line error still goes to stderr with exit code 6.
 */
export async function explainNotPlaceable(err: unknown, format: OutputFormat): Promise<never> {
  const placement = placementOf(err);
  if (placement) await emit(format, { placement }, () => renderPlacement(placement));
  throw err;
}

type Rollout = NonNullable<DeploymentView['rollout']>;

function describeStrategy(s: Record<string, unknown>): string {
  const rolling = (r: Record<string, unknown> | undefined): string => {
    if (!r || r.kind !== 'batches') return 'all at once';
    const size =
      r.size !== undefined ? `${String(r.size)}` : r.percent !== undefined ? `${String(r.percent)}%` : null;
    const parts = [size === null ? 'batches' : `batches of ${size}`];
    if (r.maxUnavailable !== undefined) parts.push(`max ${String(r.maxUnavailable)} unavailable`);
    return parts.join(', ');
  };
  if (s.kind === 'canary') {
    const promote = s.promote as 'manual' | { afterSeconds: number } | undefined;
    const how =
      promote === 'manual' || promote === undefined
        ? 'promote by hand'
        : `promote after ${promote.afterSeconds}s soak`;
    return `canary ${String(s.canary)} (${how}), then ${rolling(s.then as Record<string, unknown> | undefined)}`;
  }
  return rolling(s);
}

/** `canary 1 (promote by hand), then batches of 2 · 1/5 installed, 1 in progress, 3 not started`. */
export function renderRollout(r: Rollout): string {
  const p = r.progress;
  const parts = [`${p.installed}/${p.total} installed`];
  if (p.inProgress) parts.push(`${p.inProgress} in progress`);
  if (p.failed) parts.push(`${p.failed} failed`);
  if (p.notStarted) parts.push(`${p.notStarted} not started`);
  const timeout = r.installTimeoutSeconds ? `, install timeout ${r.installTimeoutSeconds}s` : '';
  return `${describeStrategy(r.strategy)}${timeout} · ${parts.join(', ')}`;
}

/** Per-node state with the age of each report; a node not heard from lately is marked stale. */
export function renderDeployment(d: DeploymentView): string {
  const counts = Object.entries(d.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const head = keyValues([
    ['deployment', d.id],
    ['name', d.name],
    ['app', `${d.appId} ${d.version} (profile ${d.profileId}, ${d.profileType})`],
    ['state', d.state],
    ['nodes', `${d.nodeCount}${counts ? `: ${counts}` : ''}`],
    [
      'rollout',
      d.rollout
        ? `${d.rollout.phase}${d.rollout.paused ? ' (paused)' : ''} · ${d.rollout.message}${d.rollout.retryable ? ` (edgectl co retry ${d.id})` : ''}`
        : null,
    ],
    ['progress', d.rollout ? renderRollout(d.rollout) : null],
    ['commit', d.commit],
  ]);
  const rows = d.nodes.map((n) => [
    n.nodeName,
    n.siteId,
    n.version,
    nodeState(n),
    reportAge(n, d.now),
    n.error?.message ?? n.components.find((c) => c.error)?.error?.message ?? null,
  ]);
  return `${head}\n\n${table(['NODE', 'SITE', 'VERSION', 'STATE', 'REPORTED', 'ERROR'], rows)}`;
}

// ---- following and steering a deployment

/** True when every node that must run it reports installed for the revision it must run now. */
export function isDone(d: DeploymentView): { done: boolean; failed?: DeploymentNode } {
  const failed = d.nodes.find((n) => n.desired === 'present' && n.state === 'failed' && n.current);
  if (failed) return { done: true, failed };
  if (d.state === 'removed') return { done: true };
  if (d.state === 'removing') return { done: d.nodes.every((n) => n.state === 'removed') };
  const rolloutOver = !d.rollout || ['complete', 'failed', 'rolled-back'].includes(d.rollout.phase);
  if (d.rollout && ['failed', 'rolled-back'].includes(d.rollout.phase)) {
    const f = d.nodes.find((n) => n.state === 'failed');
    return f ? { done: true, failed: f } : { done: true };
  }
  return {
    done:
      rolloutOver &&
      d.nodes.filter((n) => n.desired === 'present').every((n) => n.state === 'installed' && n.current),
  };
}

/**
 * Follows a deployment until it is done, showing live per-node progress on stderr (redrawn on a
 * terminal, one line per change otherwise). Throws when a node fails, naming it and why. Ctrl-C stops
 * waiting (the deployment itself goes on).
 */
export async function waitForDeployment(
  client: ClientOf<Contract>,
  id: string,
  options: { timeoutMs: number; intervalMs?: number },
): Promise<DeploymentView> {
  const tty = process.stderr.isTTY;
  const started = Date.now();
  let lastLine = '';
  let drawn = 0;
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSigint);
  try {
    for (;;) {
      const d = await client.deployments.get({ id });
      const installed = d.nodes.filter(
        (n) => n.desired === 'present' && n.state === 'installed' && n.current,
      ).length;
      const want = d.nodes.filter((n) => n.desired === 'present').length;
      const summary =
        d.state === 'active'
          ? `${installed}/${want} installed${d.rollout ? ` · rollout ${d.rollout.phase}${d.rollout.paused ? ' (paused)' : ''}${d.rollout.waitingFor ? ` (waiting: ${d.rollout.waitingFor})` : ''}` : ''}`
          : `${d.nodes.filter((n) => n.state === 'removed').length}/${d.nodes.length} removed`;
      if (tty) {
        const lines = [
          summary,
          ...d.nodes.map(
            (n) => `  ${n.nodeName.padEnd(24)} ${nodeState(n).padEnd(28)} ${reportAge(n, d.now)}`,
          ),
        ];
        if (drawn) process.stderr.write(`\x1b[${drawn}A\x1b[J`);
        process.stderr.write(lines.join('\n') + '\n');
        drawn = lines.length;
      } else if (summary !== lastLine) {
        process.stderr.write(summary + '\n');
        lastLine = summary;
      }
      const { done, failed } = isDone(d);
      if (failed) {
        const why =
          failed.error?.message ??
          failed.components.find((c) => c.error)?.error?.message ??
          'no reason given';
        throw new OutpostError('deployment-failed', `node ${failed.nodeName} failed: ${why}`, {
          data: { deploymentId: id, node: failed.nodeName },
        });
      }
      if (done) return d;
      if (interrupted)
        throw new OutpostError(
          'cancelled',
          `stopped waiting; deployment ${id} goes on (edgectl co show deployment ${id})`,
        );
      if (Date.now() - started > options.timeoutMs) {
        throw new OutpostError(
          'timeout',
          `deployment ${id} is not done after ${Math.round(options.timeoutMs / 1000)} s (${summary}); it goes on`,
        );
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
    }
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** `--timeout <seconds>` of `--wait`, in milliseconds (default 600 s). */
export function waitTimeoutMs(timeout: string | undefined): number {
  return (Number(timeout ?? 600) || 600) * 1000;
}

/** The action of `co promote|pause|resume <deployment>`: send the signal, show the deployment. */
export function rolloutSignal(what: 'promote' | 'pause' | 'resume') {
  return action(async (id: string, opts: { output?: string }, cmd: Command) => {
    const format = parseFormat(opts.output);
    const { client } = connect(globals(cmd));
    const d = await client.deployments[what]({ id });
    await emit(format, d, () => renderDeployment(d));
  });
}

// ---- nodes

/** Presence with its age, e.g. `online (3s ago)`, `unknown (never seen)`. */
export function presenceText(n: Node, now: number): string {
  if (n.lastSeenAt === null) return `${n.presence} (never seen)`;
  return `${n.presence} (${formatAge(now - n.lastSeenAt)} ago)`;
}

/** `4 cpu amd64, mem 8Gi, disk 100Gi` from the reported capabilities, if any. */
export function capsSummary(n: Node): string | null {
  const p = n.capabilities?.properties;
  if (!p) return null;
  const cpus = (p.cpus ?? []).reduce((s, c) => s + c.cores, 0);
  const arch = [...new Set((p.cpus ?? []).map((c) => c.architecture).filter(Boolean))].join('/');
  return (
    [
      cpus ? `${cpus} cpu${arch ? ` ${arch}` : ''}` : '',
      p.memory ? `mem ${p.memory}` : '',
      p.storage ? `disk ${p.storage}` : '',
    ]
      .filter(Boolean)
      .join(', ') || null
  );
}

// ---- tokens

/** Times in token listings: ISO 8601 in UTC, to the second. */
export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function tokenState(t: ApiTokenInfo, now: number): 'active' | 'expired' | 'revoked' {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt !== null && t.expiresAt <= now) return 'expired';
  return 'active';
}
