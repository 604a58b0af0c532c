import { OutpostError } from '../../../lib/errors/index.js';
import type { ClientOf, Contract, DeploymentNode, DeploymentView } from '../../../lib/contract/index.js';
import type { PlacementResult } from '../../../lib/model/index.js';
import { emit, formatAge, keyValues, table, type OutputFormat } from '../../lib/output.js';

function nodeState(n: DeploymentNode): string {
  const s =
    n.state === 'installed' && !n.current && n.desired === 'present'
      ? 'installing (older revision)'
      : n.state;
  return n.stale ? `${s} (stale: node ${n.presence})` : s;
}

function reportAge(n: DeploymentNode, now: number): string {
  return n.stateAt === null ? 'no report yet' : `${formatAge(now - n.stateAt)} ago`;
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
export function explainNotPlaceable(err: unknown, format: OutputFormat): never {
  const placement = placementOf(err);
  if (placement) emit(format, { placement }, () => renderPlacement(placement));
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
      d.rollout ? `${d.rollout.phase}${d.rollout.paused ? ' (paused)' : ''}: ${d.rollout.message}` : null,
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
