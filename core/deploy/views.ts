import type { deployments, deploymentTargets } from '../store/schema/index.js';
import type { DeploymentNode, DeploymentSummary, DeploymentView } from '../../lib/contract/index.js';
import { type DeploymentStatus, classifyPresence, type PresenceThresholds } from '../../lib/model/index.js';
import { nextStep, parseRolloutPlan, type ObservedNodes } from '../placement/index.js';
import type { Fleet } from '../fleet/module.js';
import type { NodeRow } from '../fleet/node-view.js';

export type DeploymentRow = typeof deployments.$inferSelect;
export type TargetRow = typeof deploymentTargets.$inferSelect;

/**
 * What each node reports, in the rollout's terms: its state and which revision that state is about
 * (the LO resolves a report's adoptedManifestVersion to the digest of the YAML it was served).
 */
export type ObservedRow = Pick<
  TargetRow,
  | 'nodeUid'
  | 'desired'
  | 'generation'
  | 'state'
  | 'reportedDigest'
  | 'yamlDigest'
  | 'prevGeneration'
  | 'prevYamlDigest'
>;

export function observedNodes(targets: ObservedRow[]): ObservedNodes {
  const out: ObservedNodes = {};
  for (const t of targets) {
    if (t.desired !== 'present' || t.generation === 0) {
      out[t.nodeUid] = undefined;
      continue;
    }
    let revision: string | null = null;
    if (t.reportedDigest && t.reportedDigest === t.yamlDigest) revision = String(t.generation);
    else if (t.reportedDigest && t.prevGeneration && t.reportedDigest === t.prevYamlDigest)
      revision = String(t.prevGeneration);
    out[t.nodeUid] = { state: (t.state ?? 'pending') as 'pending', revision };
  }
  return out;
}

/** Node rows and presence thresholds for building many node views with one query. */
export interface NodeLookup {
  get(uid: string): NodeRow | undefined;
  thresholds: PresenceThresholds;
}

export function nodeLookup(fleet: Fleet, uids: string[]): NodeLookup {
  const rows = fleet.nodesByUids(uids);
  return { get: (uid) => rows.get(uid), thresholds: fleet.thresholds() };
}

/** Per node: the last report, whether it is about the current revision, and whether the node is stale. */
export function nodeView(t: TargetRow, nodes: NodeLookup, now: number): DeploymentNode {
  const node = nodes.get(t.nodeUid);
  const status = (t.status ?? null) as DeploymentStatus | null;
  const presence = !node
    ? 'unknown'
    : node.state === 'revoked'
      ? 'offline'
      : classifyPresence(node.lastSeenAt, now, nodes.thresholds);
  const current = t.reportedDigest !== null && t.reportedDigest === t.yamlDigest;
  return {
    nodeUid: t.nodeUid,
    nodeName: t.nodeName,
    siteId: t.siteId,
    desired: t.desired,
    version: t.version,
    state: (t.state ?? 'pending') as DeploymentNode['state'],
    stateAt: t.stateAt,
    receivedAt: t.receivedAt ?? t.stateAt,
    current,
    presence,
    lastSeenAt: node?.lastSeenAt ?? null,
    stale: presence !== 'online',
    error: status?.status.error ?? null,
    components: status?.components ?? [],
  };
}

function counts(nodes: DeploymentNode[]): Record<string, number> {
  const c: Record<string, number> = {
    pending: 0,
    installing: 0,
    installed: 0,
    failed: 0,
    removing: 0,
    removed: 0,
    stale: 0,
  };
  for (const n of nodes) {
    // "installed" only when the report is about the revision the node must run now.
    const state = n.state === 'installed' && !n.current && n.desired === 'present' ? 'installing' : n.state;
    c[state] = (c[state] ?? 0) + 1;
    if (n.stale) c.stale = (c.stale ?? 0) + 1;
  }
  return c;
}

export function summaryOf(
  d: DeploymentRow,
  targets: TargetRow[],
  fleet: Fleet,
  now: number,
  profileType: string,
  built?: DeploymentNode[],
): DeploymentSummary {
  const nodes =
    built ??
    (() => {
      const lookup = nodeLookup(
        fleet,
        targets.map((t) => t.nodeUid),
      );
      return targets.map((t) => nodeView(t, lookup, now));
    })();
  return {
    id: d.id,
    name: d.name,
    appId: d.appId,
    version: d.version,
    profileId: d.profileId,
    profileType,
    state: d.state,
    counts: counts(nodes),
    nodeCount: nodes.length,
    commit: d.commit,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    createdBy: d.createdBy,
  };
}

export function buildView(
  d: DeploymentRow,
  targets: TargetRow[],
  fleet: Fleet,
  now: number,
  profileType: string,
): DeploymentView {
  const lookup = nodeLookup(
    fleet,
    targets.map((t) => t.nodeUid),
  );
  const nodes = targets.map((t) => nodeView(t, lookup, now));
  let rollout: DeploymentView['rollout'] = null;
  if (d.rollout) {
    const plan = parseRolloutPlan(d.rollout);
    const observed = observedNodes(targets);
    const step = nextStep(plan, observed, now);
    const dec = step.decision;
    // A stopped rollout follows its nodes: once none reports the failure, it says so and can be retried.
    const stillFailed = plan.targets.filter((uid) => {
      const o = observed[uid];
      return o?.revision === plan.toRevision && o.state === 'failed';
    }).length;
    const stopped = plan.phase === 'failed' || plan.phase === 'rolled-back';
    const retryable = d.state === 'active' && stopped && stillFailed === 0;
    const p = step.progress;
    const gone = retryable
      ? `; the failure is gone (${p.installed}/${p.total} installed): retry resumes the rollout`
      : '';
    rollout = {
      phase: plan.phase,
      paused: plan.signals.paused,
      waitingFor: dec.kind === 'wait' ? dec.reason : null,
      // Never repeats the phase (shown beside it): "failed · stopped: canary failed on n1".
      message:
        dec.kind === 'wait'
          ? `waiting: ${dec.reason}${dec.until ? ` until ${new Date(dec.until).toISOString()}` : ''}${
              // While rolling back, say why (the failure that stopped the rollout).
              plan.phase === 'rolling-back' && plan.stopReason ? ` (${plan.stopReason})` : ''
            }`
          : dec.kind === 'complete'
            ? dec.failed.length
              ? `done; ${dec.failed.length} node(s) failed within the threshold`
              : `every node took revision ${plan.toRevision}`
            : dec.kind === 'failed'
              ? `stopped: ${dec.reason}${gone}`
              : dec.kind === 'rollback'
                ? `rolling back: ${dec.reason}`
                : dec.kind === 'rolled-back'
                  ? `rolled back: ${dec.reason}${gone}`
                  : `dispatching to ${dec.nodes.length} node(s)`,
      retryable,
      progress: step.progress,
      strategy: plan.strategy as Record<string, unknown>,
      installTimeoutSeconds: plan.installTimeoutSeconds,
    };
  }
  return {
    ...summaryOf(d, targets, fleet, now, profileType, nodes),
    target: d.target as Record<string, unknown>,
    parameters: Object.fromEntries(
      Object.entries(d.parameters as Record<string, { value: unknown }>).map(([k, v]) => [k, v.value]),
    ),
    generation: d.generation,
    nodes,
    rollout,
    now,
  };
}
