import crypto from 'node:crypto';
import { and, asc, eq, ne } from 'drizzle-orm';
import type { Store } from '../store/db.js';
import type { Clock } from '../../lib/base/index.js';
import type { Logger } from '../../lib/log/index.js';
import type { Config } from '../config.js';
import type { EventHub } from '../events.js';
import { deploymentRevisions, deployments, deploymentTargets } from '../store/schema/index.js';
import { OutpostError, errors } from '../../lib/errors/index.js';
import {
  coerceParameterInput,
  parameterDataType,
  resolveParameters,
  type PlacementResult,
  type ApplicationDescription,
  type DeploymentProfile,
  type DeploymentStatus,
  type ParameterValue,
} from '../../lib/model/index.js';
import { renderApplicationDeployment, sha256Digest } from '../../lib/margo/index.js';
import {
  createRollout,
  nextStep,
  parseRolloutPlan,
  pauseRollout,
  place,
  promoteRollout,
  resumeRollout,
  retryRollout,
  type RolloutDecision,
  type RolloutPlan,
} from '../placement/index.js';
import type {
  CallContext,
  DeploymentTarget,
  DeploymentView,
  NodeFit,
  RolloutOptions,
} from '../../lib/contract/index.js';
import type { Catalog } from '../catalog/module.js';
import type { Fleet } from '../fleet/module.js';
import type { NodeRow } from '../fleet/node-view.js';
import { placementNodes } from './placement-input.js';
import type { DesiredRepos } from './desired-repo.js';
import { deviceRenderer } from './render.js';
import { createReportCursors } from '../store/report-cursors.js';
import { rowChanges } from '../store/row-changes.js';
import {
  buildView,
  observedNodes,
  summaryOf,
  type DeploymentRow,
  type ObservedRow,
  type TargetRow,
} from './views.js';

export interface DeployEngineDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  config: Config;
  events: EventHub;
  catalog: Catalog;
  fleet: Fleet;
  repos: DesiredRepos;
  /** Tells the LO side a tenant's desired state moved (role all: in-process sync before answering). */
  afterCommit: (tenantId: string) => Promise<void>;
}

type Resolved = Record<
  string,
  { value: ParameterValue; targets: { pointer: string; components: string[] }[] }
>;

/** How long a rollout step triggered by a status report waits for more reports (ADR 0550). */
export const STATUS_COALESCE_MS = 100;
/**
 * A step triggered by status reports also waits this many times as long as the deployment's last step
 * took, so stepping a rollout of many thousands of nodes (each step reads every target) takes at most
 * about a tenth of the LO's time however fast reports arrive (ADR 0504).
 */
export const STATUS_COALESCE_STEP_FACTOR = 9;

/** Whether a rollout step changed the plan (dispatches are told apart by the caller). */
function planMoved(a: RolloutPlan, b: RolloutPlan): boolean {
  return (
    a.phase !== b.phase ||
    a.canaryInstalledAt !== b.canaryInstalledAt ||
    a.endedAt !== b.endedAt ||
    a.stopReason !== b.stopReason ||
    a.rollback !== b.rollback ||
    a.signals.paused !== b.signals.paused ||
    a.signals.promoted !== b.signals.promoted ||
    a.signals.rollbackRequested !== b.signals.rollbackRequested
  );
}

/**
 * Deployments: create (placement, one revision, the rollout's first step), update (a new revision rolled
 * out by the strategy), remove, and advancing rollouts as statuses arrive. The database is written first
 * (in one transaction per step), then the deployments repository is synced from it, then the LO adopts it:
 * a crash anywhere is repaired by the next sync, and nothing is half-written.
 */
export function createDeployEngine(deps: DeployEngineDeps) {
  const { store, clock, events, catalog, fleet, repos } = deps;
  const db = store.db;
  const log = deps.logger.child({ component: 'deploy' });
  const advancing = new Map<string, Promise<void>>();
  const queuedAdvance = new Map<string, Promise<void>>();
  /** How long each deployment's last rollout step took (ms): status-triggered steps wait in proportion. */
  const stepMs = new Map<string, number>();
  // Status ingestion is the hottest path (every node reports every change): plain prepared statements.
  const statusQ = {
    target: store.sqlite.prepare(
      'SELECT tenant_id AS tenantId, state_at AS stateAt, reported_digest AS reportedDigest FROM deployment_targets WHERE deployment_id = ? AND node_uid = ?',
    ),
    anyReport: store.sqlite.prepare(
      'SELECT 1 FROM status_reports WHERE deployment_id = ? AND node_uid = ? LIMIT 1',
    ),
    insert: store.sqlite.prepare(
      'INSERT INTO status_reports (deployment_id, node_uid, device_id, state, adopted_manifest_version, digest, body, received_at, event_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    update: store.sqlite.prepare(
      'UPDATE deployment_targets SET state = ?, state_at = ?, received_at = ?, adopted_manifest_version = ?, status = ?, reported_digest = ? WHERE deployment_id = ? AND node_uid = ?',
    ),
    removing: store.sqlite.prepare(`SELECT 1 FROM deployments WHERE id = ? AND state = 'removing'`),
    tenantOf: store.sqlite.prepare('SELECT tenant_id AS tenantId FROM deployments WHERE id = ?'),
    observed: store.sqlite.prepare(
      `SELECT node_uid AS nodeUid, desired, generation, state, reported_digest AS reportedDigest, yaml_digest AS yamlDigest,
         prev_generation AS prevGeneration, prev_yaml_digest AS prevYamlDigest FROM deployment_targets WHERE deployment_id = ?`,
    ),
  };
  const rolloutQ = {
    head: store.sqlite.prepare(
      'SELECT tenant_id AS tenantId, state, rollout IS NOT NULL AS hasRollout FROM deployments WHERE id = ?',
    ),
    plan: store.sqlite.prepare('SELECT rollout FROM deployments WHERE id = ?').pluck(),
    write: store.sqlite.prepare('UPDATE deployments SET rollout = ?, updated_at = ? WHERE id = ?'),
  };
  /**
   * Rollout plans as the last step left them (ADR 0550): a step reads the plan from here instead of
   * parsing and validating the whole plan (every target, every dispatch time) again. Any write of a
   * deployment's rollout or state on this connection drops its entry (TEMP triggers), and so does a
   * commit by another connection; the step's own write puts the new plan back.
   */
  const plans = new Map<string, RolloutPlan>();
  const changes = rowChanges(store.sqlite);
  changes.watch({ table: 'deployments', key: 'id', columns: ['rollout', 'state'] }, (id) =>
    id === null ? plans.clear() : plans.delete(id),
  );
  const cursors = createReportCursors(store);
  /** Rollouts waiting for a time (canary soak, install timeouts): deployment id -> when to look again. */
  const wakeAt = new Map<string, number>();
  /** Tenants whose committed desired state is not yet in their repository or the LO (retried). */
  const unpublished = new Set<string>();

  const deploymentRow = (tenantId: string, id: string): DeploymentRow => {
    const d = db
      .select()
      .from(deployments)
      .where(and(eq(deployments.id, id), eq(deployments.tenantId, tenantId)))
      .get();
    if (!d) throw errors.notFound('deployment', id);
    return d as DeploymentRow;
  };
  // Targets without their YAML bytes (views and rollout decisions never need them): one plain query.
  const targetsStmt = store.sqlite.prepare(
    `SELECT deployment_id AS deploymentId, node_uid AS nodeUid, tenant_id AS tenantId, site_id AS siteId, node_name AS nodeName,
       desired, generation, version, prev_generation AS prevGeneration, prev_yaml_digest AS prevYamlDigest, NULL AS yaml,
       yaml_digest AS yamlDigest, reservation, state, state_at AS stateAt, adopted_manifest_version AS adoptedManifestVersion,
       status, reported_digest AS reportedDigest, assigned_at AS assignedAt, received_at AS receivedAt
     FROM deployment_targets WHERE deployment_id = ? ORDER BY node_name`,
  );
  const targetsOf = (id: string): TargetRow[] => {
    // Thousands of targets share one reservation: parse each distinct text once.
    const reservations = new Map<string, unknown>();
    return (
      targetsStmt.all(id) as (Omit<TargetRow, 'status' | 'reservation'> & {
        status: string | null;
        reservation: string | null;
      })[]
    ).map((r) => {
      // Fresh row objects from the driver: filled in place (no copy of 18 fields per row).
      const row = r as unknown as TargetRow;
      if (r.reservation !== null) {
        const text = r.reservation;
        if (!reservations.has(text)) reservations.set(text, JSON.parse(text));
        row.reservation = reservations.get(text);
      }
      if (r.status !== null) row.status = JSON.parse(r.status) as unknown;
      return row;
    });
  };

  function appVersion(tenantId: string, appId: string, version?: string) {
    const row = catalog.version(tenantId, appId, version);
    if (!row) {
      throw version
        ? new OutpostError('not-found', `application "${appId}" has no version "${version}"`, {
            data: { what: 'application version', id: appId, version },
          })
        : errors.notFound('application', appId);
    }
    return { description: row.description as ApplicationDescription, version: row.version };
  }

  function chooseProfile(desc: ApplicationDescription, profileId?: string): DeploymentProfile {
    if (profileId) {
      const p = desc.deploymentProfiles.find((x) => x.id === profileId);
      if (!p) {
        throw new OutpostError(
          'not-found',
          `application "${desc.id}" has no deployment profile "${profileId}" (profiles: ${desc.deploymentProfiles.map((x) => x.id).join(', ')})`,
        );
      }
      return p;
    }
    const p = desc.deploymentProfiles[0];
    if (!p) throw new OutpostError('invalid-input', `application "${desc.id}" has no deployment profile`);
    return p;
  }

  function candidateRows(
    tenantId: string,
    target: DeploymentTarget,
  ): { rows: NodeRow[]; nodeUids?: string[] } {
    if (target.siteId && !fleet.siteExists(tenantId, target.siteId))
      throw errors.notFound('site', target.siteId);
    if (target.nodes) {
      // One query for the tenant's nodes (a deployment may name thousands), then pick them by name.
      const byName = new Map(fleet.listNodeRows(tenantId).map((r) => [r.name, r]));
      const rows = target.nodes.map((n) => {
        const r = byName.get(n);
        if (!r) throw errors.notFound('node', n);
        return r;
      });
      return { rows, nodeUids: rows.map((r) => r.uid) };
    }
    return { rows: fleet.listNodeRows(tenantId, target.siteId) };
  }

  function runPlacement(
    tenantId: string,
    profile: DeploymentProfile,
    target: DeploymentTarget,
    excludeDeployment?: string,
  ): PlacementResult {
    const { rows, nodeUids } = candidateRows(tenantId, target);
    const now = clock.now();
    const t = fleet.thresholds();
    const nodes = placementNodes(store, rows, now, t, { excludeDeployment });
    return place(
      {
        profile,
        replicas: target.replicas ?? (target.nodes ? target.nodes.length : 'all'),
        ...(target.selector ? { selector: target.selector } : {}),
        ...(target.prefer ? { preferLabels: target.prefer } : {}),
        ...(target.siteId ? { siteId: target.siteId } : {}),
        ...(nodeUids ? { nodeUids } : {}),
        now,
        staleAfterMs: t.staleAfterMs,
      },
      nodes,
    );
  }

  const revisionOf = (id: string, generation: number) =>
    db
      .select()
      .from(deploymentRevisions)
      .where(and(eq(deploymentRevisions.deploymentId, id), eq(deploymentRevisions.generation, generation)))
      .get();

  /** Points nodes at a revision (writes their YAML rows); the caller syncs git afterwards. */
  function assign(d: DeploymentRow, uids: string[], generation: number): void {
    const rev = revisionOf(d.id, generation);
    if (!rev) throw new OutpostError('internal', `deployment ${d.id} has no revision ${generation}`);
    const now = clock.now();
    // The description and profile are the same for every node of a revision: resolve them once.
    const { description } = appVersion(d.tenantId, d.appId, rev.version);
    const profile = chooseProfile(description, rev.profileId);
    const wanted = new Set(uids);
    const update = store.sqlite.prepare(
      `UPDATE deployment_targets SET generation = ?, version = ?, yaml = ?, yaml_digest = ?, prev_generation = ?, prev_yaml_digest = ?,
         desired = 'present', assigned_at = ? WHERE deployment_id = ? AND node_uid = ?`,
    );
    const renderFor = deviceRenderer(
      (deviceId) =>
        renderApplicationDeployment({
          deploymentId: d.id,
          name: d.name,
          namespace: d.tenantId,
          deviceId,
          applicationId: d.appId,
          profile,
          parameters: rev.parameters as Resolved,
          labels: { 'outpost.dev/deployment': d.id, 'outpost.dev/revision': String(rev.generation) },
        }).yaml,
    );
    for (const t of targetsOf(d.id)) {
      if (!wanted.has(t.nodeUid)) continue;
      const yaml = Buffer.from(renderFor(t.nodeName));
      const digest = sha256Digest(yaml);
      if (t.generation === generation && t.yamlDigest === digest) continue;
      update.run(
        generation,
        rev.version,
        yaml,
        digest,
        t.generation > 0 ? t.generation : t.prevGeneration,
        t.generation > 0 ? t.yamlDigest : t.prevYamlDigest,
        now,
        d.id,
        t.nodeUid,
      );
    }
  }

  /** Applies one rollout decision; returns whether git must be synced. */
  function apply(d: DeploymentRow, decision: RolloutDecision): boolean {
    switch (decision.kind) {
      case 'dispatch':
        assign(d, decision.nodes, Number(decision.revision));
        return decision.nodes.length > 0;
      case 'rollback': {
        // One pass per revision rolled back to, not one per node (each pass reads every target).
        const byRevision = new Map<number, string[]>();
        for (const n of decision.nodes) {
          const rev = Number(n.revision);
          const uids = byRevision.get(rev) ?? [];
          uids.push(n.uid);
          byRevision.set(rev, uids);
        }
        for (const [rev, uids] of byRevision) assign(d, uids, rev);
        return decision.nodes.length > 0;
      }
      default:
        return false;
    }
  }

  /** The plan of a deployment's rollout: from the cache, else read, parsed and validated once. */
  function planOf(id: string): RolloutPlan {
    if (changes.changedElsewhere()) plans.clear();
    const cached = plans.get(id);
    if (cached) return cached;
    const plan = parseRolloutPlan(JSON.parse(rolloutQ.plan.get(id) as string));
    plans.set(id, plan);
    return plan;
  }

  /**
   * Runs the rollout state machine until it waits or ends; persists the plan when it changed; syncs git
   * once. The plan comes from memory (`plans`); the nodes' observed states are read with one statement.
   */
  async function advance(tenantId: string, id: string, operator: string, message: string): Promise<void> {
    let mustSync = false;
    let stepped: RolloutPlan | undefined;
    const stepStarted = performance.now();
    store.tx(() => {
      const head = rolloutQ.head.get(id) as
        { tenantId: string; state: string; hasRollout: number } | undefined;
      if (!head || head.tenantId !== tenantId) throw errors.notFound('deployment', id);
      if (head.state !== 'active' || !head.hasRollout) return;
      const before = planOf(id);
      let plan = before;
      let d: DeploymentRow | undefined;
      wakeAt.delete(id);
      for (let i = 0; i < 50; i++) {
        const step = nextStep(plan, observedNodes(statusQ.observed.all(id) as ObservedRow[]), clock.now());
        plan = step.plan;
        if (step.decision.kind === 'wait' && step.decision.until !== undefined)
          wakeAt.set(id, step.decision.until);
        const k = step.decision.kind;
        const changed =
          (k === 'dispatch' || k === 'rollback') && apply((d ??= deploymentRow(tenantId, id)), step.decision);
        mustSync ||= changed;
        if (!changed) break;
      }
      // A step that only waits leaves the plan as it was: nothing to write (at 10,000 targets the plan
      // is ~1 MB of JSON).
      if (mustSync || planMoved(before, plan)) rolloutQ.write.run(JSON.stringify(plan), clock.now(), id);
      stepped = plan;
    });
    // What the step cost here (reading every target), not the publication that may follow.
    stepMs.set(id, performance.now() - stepStarted);
    // Kept only once committed: a step whose transaction rolled back (a failed commit) must not leave
    // its plan here, or the next step would start from a dispatch that never happened.
    if (stepped && !store.sqlite.inTransaction) plans.set(id, stepped);
    if (mustSync || unpublished.has(tenantId)) await publish(tenantId, message, operator);
    events.changed(tenantId, 'deployments');
  }

  /**
   * Writes the database's desired state to the deployments repository and lets the LO adopt it. The
   * change is already committed when this runs: a failure here (a full disk, an unwritable repository)
   * does not undo it or fail the call; the tenant is published again from the database on the timer
   * (and at start), until it goes through.
   */
  async function publish(tenantId: string, message: string, operator: string): Promise<void> {
    try {
      const r = await repos.sync(tenantId, message, operator);
      if (r.changed || unpublished.has(tenantId)) await deps.afterCommit(tenantId);
      if (unpublished.delete(tenantId))
        log.info({ tenant: tenantId }, 'desired state published after a retry');
    } catch (err) {
      if (!unpublished.has(tenantId))
        log.error(
          { err, tenant: tenantId },
          'desired state committed, but publishing it failed; retrying from the database',
        );
      unpublished.add(tenantId);
    }
  }

  /**
   * The first rollout step after a committed change. When it fails, the change stays committed and the
   * step is retried by the timer, like a rollout waiting for a time.
   */
  async function advanceAfterCommit(tenantId: string, id: string, operator: string, message: string) {
    try {
      await advance(tenantId, id, operator, message);
    } catch (err) {
      log.error({ err, deployment: id }, 'change committed; its rollout step failed and is retried');
      wakeAt.set(id, clock.now());
    }
  }

  /**
   * Serialised per deployment; errors are logged (a status report must never fail because of them).
   * Coalesced: while a step is queued and not started, more reports need no extra step (one step reads
   * every node's latest state anyway). With `coalesceMs` (status reports) the queued step waits that long
   * before it starts, so a burst of thousands of reports costs a few steps a second, not one per report
   * (ADR 0550).
   */
  function scheduleAdvance(tenantId: string, id: string, reason: string, coalesceMs = 0): Promise<void> {
    const queued = queuedAdvance.get(id);
    if (queued) return queued;
    const prev = advancing.get(id) ?? Promise.resolve();
    const next = prev
      .catch(() => undefined)
      .then(() => {
        const wait =
          coalesceMs > 0 ? Math.max(coalesceMs, STATUS_COALESCE_STEP_FACTOR * (stepMs.get(id) ?? 0)) : 0;
        return wait > 0 ? new Promise<void>((r) => setTimeout(r, wait)) : undefined;
      })
      .then(() => {
        queuedAdvance.delete(id);
        return advance(tenantId, id, 'outpost:rollout', `rollout of deployment ${id}: ${reason}`);
      })
      .catch((err: unknown) => log.error({ err, deployment: id }, 'rollout step failed'));
    queuedAdvance.set(id, next);
    advancing.set(id, next);
    return next;
  }

  /** Runs one step of every rollout in progress (at start, and in tests). */
  async function advanceAll(): Promise<void> {
    const active = store.sqlite
      .prepare(
        `SELECT id, tenant_id AS tenantId FROM deployments WHERE state = 'active' AND rollout IS NOT NULL AND json_extract(rollout, '$.phase') NOT IN ('complete','failed','rolled-back')`,
      )
      .all() as { id: string; tenantId: string }[];
    for (const a of active) await scheduleAdvance(a.tenantId, a.id, 'check');
  }

  function view(tenantId: string, id: string): DeploymentView {
    const d = deploymentRow(tenantId, id);
    return buildView(d, targetsOf(id), fleet, clock.now(), profileTypeOf(d));
  }
  const profileTypeOf = (d: DeploymentRow) => {
    try {
      return chooseProfile(appVersion(d.tenantId, d.appId, d.version).description, d.profileId).type;
    } catch {
      return 'unknown';
    }
  };

  function newPlan(
    targets: string[],
    toRevision: number,
    previous: Record<string, string | null>,
    opts: RolloutOptions | undefined,
  ) {
    return createRollout({
      targets,
      toRevision: String(toRevision),
      previousRevisions: previous,
      // A canary without `then` continues with all the remaining nodes at once.
      strategy: (opts?.strategy?.kind === 'canary' && !opts.strategy.then
        ? { ...opts.strategy, then: { kind: 'all-at-once' } }
        : (opts?.strategy ?? { kind: 'all-at-once' })) as never,
      ...(opts?.failureThreshold !== undefined ? { failureThreshold: opts.failureThreshold } : {}),
      ...(opts?.autoRollback !== undefined ? { autoRollback: opts.autoRollback } : {}),
      ...(opts?.installTimeoutSeconds !== undefined
        ? { installTimeoutSeconds: opts.installTimeoutSeconds }
        : {}),
      now: clock.now(),
    });
  }

  return {
    view,
    scheduleAdvance,

    place(
      input: {
        appId: string;
        version?: string | undefined;
        profileId?: string | undefined;
        target: DeploymentTarget;
      },
      ctx: CallContext,
    ) {
      const { description, version } = appVersion(ctx.tenantId, input.appId, input.version);
      const profile = chooseProfile(description, input.profileId);
      return {
        appId: input.appId,
        version,
        profileId: profile.id,
        profileType: profile.type,
        placement: runPlacement(ctx.tenantId, profile, input.target),
      };
    },

    /**
     * "Why not this node": each profile of the newest version of every app (or of one app, one version),
     * placed on this node alone, with the placement's reasons (the same filters as the wizard's).
     */
    fitNode(
      input: { name: string; appId?: string | undefined; version?: string | undefined },
      ctx: CallContext,
    ): NodeFit[] {
      const node = fleet.nodeByName(ctx.tenantId, input.name);
      if (!node) throw errors.notFound('node', input.name);
      const appIds = input.appId
        ? [input.appId]
        : (
            store.sqlite.prepare('SELECT id FROM apps WHERE tenant_id = ? ORDER BY id').all(ctx.tenantId) as {
              id: string;
            }[]
          ).map((r) => r.id);
      const out: NodeFit[] = [];
      for (const appId of appIds) {
        const { description, version } = appVersion(ctx.tenantId, appId, input.version);
        for (const profile of description.deploymentProfiles) {
          const placement = runPlacement(ctx.tenantId, profile, { nodes: [node.name] });
          const c = placement.candidates.find((x) => x.uid === node.uid);
          out.push({
            appId,
            appName: description.metadata.name,
            version,
            profileId: profile.id,
            profileType: profile.type,
            fits: c?.eligible === true,
            reasons: c?.reasons ?? [{ code: 'unknown-node', message: placement.summary }],
          });
        }
      }
      return out;
    },

    async create(
      input: {
        appId: string;
        version?: string | undefined;
        profileId?: string | undefined;
        name?: string | undefined;
        target: DeploymentTarget;
        parameters: Record<string, unknown>;
        set?: Record<string, string> | undefined;
        rollout?: RolloutOptions | undefined;
      },
      ctx: CallContext,
    ): Promise<DeploymentView> {
      const { description, version } = appVersion(ctx.tenantId, input.appId, input.version);
      const profile = chooseProfile(description, input.profileId);
      const params = resolveParameters(description, profile.id, {
        ...input.parameters,
        ...coerceSet(description, input.set),
      });
      const resolved: Resolved = Object.fromEntries(
        Object.entries(params).map(([k, v]) => [k, { value: v.value, targets: v.targets }]),
      );
      const placement = runPlacement(ctx.tenantId, profile, input.target);
      if (!placement.placeable) {
        throw new OutpostError('not-placeable', placement.summary, { data: { placement } });
      }
      const id = crypto.randomUUID();
      const now = clock.now();
      const name = input.name ?? `${input.appId.slice(0, 50).replace(/-+$/, '')}-${id.slice(0, 8)}`;
      ctx.noteResultRef?.(id);
      store.tx(() => {
        db.insert(deployments)
          .values({
            id,
            tenantId: ctx.tenantId,
            name,
            appId: input.appId,
            version,
            profileId: profile.id,
            parameters: resolved,
            target: input.target,
            state: 'active',
            rollout: newPlan(placement.placed, 1, {}, input.rollout),
            generation: 1,
            commit: null,
            createdAt: now,
            updatedAt: now,
            createdBy: ctx.principal.id,
          })
          .run();
        db.insert(deploymentRevisions)
          .values({
            deploymentId: id,
            generation: 1,
            version,
            profileId: profile.id,
            parameters: resolved,
            createdAt: now,
            createdBy: ctx.principal.id,
          })
          .run();
        const placedNodes = fleet.nodesByUids(placement.placed);
        const insertTarget = store.sqlite.prepare(
          `INSERT INTO deployment_targets (deployment_id, node_uid, tenant_id, site_id, node_name, desired, generation, version, reservation, assigned_at)
           VALUES (?, ?, ?, ?, ?, 'present', 0, ?, ?, ?)`,
        );
        const reservation = JSON.stringify(placement.reservation);
        for (const uid of placement.placed) {
          const node = placedNodes.get(uid)!;
          insertTarget.run(id, uid, ctx.tenantId, node.siteId, node.name, version, reservation, now);
        }
      });
      await advanceAfterCommit(
        ctx.tenantId,
        id,
        ctx.principal.id,
        `deploy ${input.appId} ${version} to ${placement.placed.length} node${placement.placed.length === 1 ? '' : 's'} (deployment ${id})`,
      );
      log.info(
        { deployment: id, app: input.appId, version, nodes: placement.placed.length },
        'deployment created',
      );
      return view(ctx.tenantId, id);
    },

    async update(
      input: {
        id: string;
        version?: string | undefined;
        parameters?: Record<string, unknown> | undefined;
        set?: Record<string, string> | undefined;
        rollout?: RolloutOptions | undefined;
      },
      ctx: CallContext,
    ): Promise<DeploymentView> {
      const d = deploymentRow(ctx.tenantId, input.id);
      if (d.state !== 'active')
        throw new OutpostError('conflict', `deployment ${d.id} is ${d.state}; it cannot be updated`);
      // An update supersedes a rollout still in progress: the new plan starts from what each node was told.
      const { description, version } = appVersion(ctx.tenantId, d.appId, input.version ?? d.version);
      const profile = chooseProfile(description, d.profileId);
      const current = d.parameters as Resolved;
      const previous = Object.fromEntries(Object.entries(current).map(([k, v]) => [k, v.value]));
      const given = { ...previous, ...(input.parameters ?? {}), ...coerceSet(description, input.set) };
      // Keep only parameters the new version still declares (a version may drop one).
      for (const k of Object.keys(given)) if (!(k in description.parameters)) delete given[k];
      const params = resolveParameters(description, profile.id, given, { previous });
      const resolved: Resolved = Object.fromEntries(
        Object.entries(params).map(([k, v]) => [k, { value: v.value, targets: v.targets }]),
      );
      const targets = targetsOf(d.id).filter((t) => t.desired === 'present');
      // The new revision must still fit the nodes that run this deployment.
      const placement = runPlacement(ctx.tenantId, profile, { nodes: targets.map((t) => t.nodeName) }, d.id);
      if (!placement.placeable || placement.placed.length < targets.length) {
        const refused = placement.candidates
          .filter((c) => !c.placed)
          .map((c) => `${c.name}: ${c.reasons.map((r) => r.message).join('; ')}`);
        throw new OutpostError(
          'not-placeable',
          `version ${version} does not fit every node of deployment ${d.id}: ${refused.join(' | ')}`,
          { data: { placement } },
        );
      }
      const generation = d.generation + 1;
      const now = clock.now();
      store.tx(() => {
        db.insert(deploymentRevisions)
          .values({
            deploymentId: d.id,
            generation,
            version,
            profileId: profile.id,
            parameters: resolved,
            createdAt: now,
            createdBy: ctx.principal.id,
          })
          .run();
        db.update(deployments)
          .set({
            version,
            parameters: resolved,
            generation,
            commit: null,
            updatedAt: now,
            rollout: newPlan(
              targets.map((t) => t.nodeUid),
              generation,
              Object.fromEntries(
                targets.map((t) => [t.nodeUid, t.generation > 0 ? String(t.generation) : null]),
              ),
              input.rollout,
            ),
          })
          .where(eq(deployments.id, d.id))
          .run();
        // One statement for every node that keeps the deployment (a query built per node cost
        // ~70 µs each in the query builder at 10,000 nodes).
        store.sqlite
          .prepare(
            `UPDATE deployment_targets SET reservation = ? WHERE deployment_id = ? AND desired = 'present'`,
          )
          .run(JSON.stringify(placement.reservation), d.id);
      });
      await advanceAfterCommit(
        ctx.tenantId,
        d.id,
        ctx.principal.id,
        `update deployment ${d.id} to ${d.appId} ${version} (revision ${generation})`,
      );
      return view(ctx.tenantId, d.id);
    },

    async remove(input: { id: string }, ctx: CallContext): Promise<DeploymentView> {
      const d = deploymentRow(ctx.tenantId, input.id);
      if (d.state === 'active') {
        store.tx(() => {
          db.update(deployments)
            .set({ state: 'removing', commit: null, updatedAt: clock.now() })
            .where(eq(deployments.id, d.id))
            .run();
          db.update(deploymentTargets)
            .set({ desired: 'absent' })
            .where(eq(deploymentTargets.deploymentId, d.id))
            .run();
          // Nodes that were never told anything have nothing to remove.
          store.sqlite
            .prepare(
              `UPDATE deployment_targets SET state = 'removed', state_at = ? WHERE deployment_id = ? AND generation = 0`,
            )
            .run(clock.now(), d.id);
        });
        await publish(
          ctx.tenantId,
          `remove deployment ${d.id} (${d.appId}) from ${targetsOf(d.id).length} nodes`,
          ctx.principal.id,
        );
        finishRemovalIfDone(d.id);
        events.changed(ctx.tenantId, 'deployments');
      }
      return view(ctx.tenantId, d.id);
    },

    async signal(
      input: { id: string },
      ctx: CallContext,
      what: 'promote' | 'pause' | 'resume',
    ): Promise<DeploymentView> {
      const d = deploymentRow(ctx.tenantId, input.id);
      if (!d.rollout) throw new OutpostError('conflict', `deployment ${d.id} has no rollout`);
      const plan = parseRolloutPlan(d.rollout);
      if (['complete', 'failed', 'rolled-back'].includes(plan.phase))
        throw new OutpostError(
          'conflict',
          `the rollout of deployment ${d.id} is already ${plan.phase}${plan.phase === 'complete' ? '' : `: once the failure is gone, edgectl co retry ${d.id} resumes it`}`,
        );
      if (what === 'promote' && plan.phase !== 'canary' && plan.phase !== 'canary-hold') {
        throw new OutpostError(
          'conflict',
          `deployment ${d.id} is not waiting at a canary (phase ${plan.phase})`,
        );
      }
      const next =
        what === 'promote'
          ? promoteRollout(plan)
          : what === 'pause'
            ? pauseRollout(plan)
            : resumeRollout(plan);
      store.tx(() =>
        db
          .update(deployments)
          .set({ rollout: next, updatedAt: clock.now() })
          .where(eq(deployments.id, d.id))
          .run(),
      );
      await advanceAfterCommit(ctx.tenantId, d.id, ctx.principal.id, `${what} rollout of deployment ${d.id}`);
      return view(ctx.tenantId, d.id);
    },

    /**
     * Resumes a rollout that a failure stopped (failed or rolled back) from the step where it stopped, once
     * no node reports the failure any more (issue 12, ADR 0501).
     */
    async retry(input: { id: string }, ctx: CallContext): Promise<DeploymentView> {
      const d = deploymentRow(ctx.tenantId, input.id);
      if (d.state !== 'active')
        throw new OutpostError('conflict', `deployment ${d.id} is ${d.state}; there is no rollout to retry`);
      if (!d.rollout) throw new OutpostError('conflict', `deployment ${d.id} has no rollout`);
      const plan = parseRolloutPlan(d.rollout);
      const next = retryRollout(
        plan,
        observedNodes(statusQ.observed.all(d.id) as ObservedRow[]),
        clock.now(),
      );
      store.tx(() =>
        db
          .update(deployments)
          .set({ rollout: next, updatedAt: clock.now() })
          .where(eq(deployments.id, d.id))
          .run(),
      );
      log.info({ deployment: d.id, from: plan.phase, to: next.phase }, 'rollout retried by the operator');
      await advanceAfterCommit(ctx.tenantId, d.id, ctx.principal.id, `retry rollout of deployment ${d.id}`);
      return view(ctx.tenantId, d.id);
    },

    list(input: { appId?: string | undefined; includeRemoved: boolean }, ctx: CallContext) {
      const rows = db
        .select()
        .from(deployments)
        .where(
          and(
            eq(deployments.tenantId, ctx.tenantId),
            input.appId ? eq(deployments.appId, input.appId) : undefined,
            input.includeRemoved ? undefined : ne(deployments.state, 'removed'),
          ),
        )
        .orderBy(asc(deployments.createdAt))
        .all() as DeploymentRow[];
      const now = clock.now();
      return {
        deployments: rows.map((d) => summaryOf(d, targetsOf(d.id), fleet, now, profileTypeOf(d))),
        now,
      };
    },

    /**
     * Status from the LO (role all: in-process) or forwarded by a remote LO over the bus. Records it, then
     * lets the rollout react. `eventAt` is when the node made the report (ADR 0169); the node's state is
     * dated by it. With `origin`, a report at or below the last sequence applied for that origin is a
     * replay: it changes nothing and moves no rollout (ADR 0168).
     */
    recordStatus(report: {
      clientId: string;
      status: DeploymentStatus;
      digest: string | undefined;
      receivedAt: number;
      eventAt?: number | null | undefined;
      origin?: { key: string; seq: number } | undefined;
    }): 'created' | 'updated' | 'duplicate' {
      const { clientId, status, digest, receivedAt, origin } = report;
      const eventAt = report.eventAt ?? null;
      const result = store.tx(() => {
        if (origin) {
          if (cursors.applied(origin.key, origin.seq)) return { duplicate: true as const };
          cursors.mark(origin.key, origin.seq, receivedAt);
        }
        const t = statusQ.target.get(status.deploymentId, clientId) as
          { tenantId: string; stateAt: number | null; reportedDigest: string | null } | undefined;
        // The first report of this node for this deployment (201), or a later one (200).
        const first = t
          ? t.stateAt === null
          : statusQ.anyReport.get(status.deploymentId, clientId) === undefined;
        statusQ.insert.run(
          status.deploymentId,
          clientId,
          status.deviceId ?? null,
          status.status.state,
          status.adoptedManifestVersion,
          digest ?? null,
          JSON.stringify(status),
          receivedAt,
          eventAt,
        );
        if (t) {
          statusQ.update.run(
            status.status.state,
            eventAt ?? receivedAt,
            receivedAt,
            status.adoptedManifestVersion,
            JSON.stringify(status),
            digest ?? t.reportedDigest,
            status.deploymentId,
            clientId,
          );
        }
        return { duplicate: false as const, first, tenantId: t?.tenantId };
      });
      if (result.duplicate) {
        log.debug({ node: clientId, origin }, 'status report already applied (a replay); ignored');
        return 'duplicate';
      }
      if (result.tenantId) {
        finishRemovalIfDone(status.deploymentId);
        events.changed(result.tenantId, 'deployments');
        void scheduleAdvance(
          result.tenantId,
          status.deploymentId,
          `status from ${clientId}`,
          STATUS_COALESCE_MS,
        );
      }
      return result.first ? 'created' : 'updated';
    },

    /** At start and on a timer: repair git from the database, advance waiting rollouts (soak timers). */
    async tick(): Promise<void> {
      // A push that failed (remote away) is retried until it goes through.
      for (const t of [
        deps.config.tenancy.defaultTenant,
        ...Object.keys(deps.config.git.tenantRemotes ?? {}),
      ])
        if (repos.pushState(t).lastError) await repos.push(t);
      // Committed changes whose publication failed (a full disk, say): again from the database.
      for (const t of [...unpublished])
        await publish(t, 'desired state rewritten from the database after a failed write', 'outpost:retry');
      // Only rollouts waiting for a time are looked at; the others move when a status arrives.
      const now = clock.now();
      for (const [id, at] of [...wakeAt]) {
        if (at > now) continue;
        const row = statusQ.tenantOf.get(id) as { tenantId: string } | undefined;
        if (!row) {
          wakeAt.delete(id);
          continue;
        }
        await scheduleAdvance(row.tenantId, id, 'timer');
      }
    },

    advanceAll,
    /** Resolves when every rollout step queued so far has run (tests, benchmarks, shutdown). */
    async settle(): Promise<void> {
      while (advancing.size) {
        const pending = [...advancing.values()];
        await Promise.all(pending);
        for (const [id, p] of [...advancing]) if (pending.includes(p)) advancing.delete(id);
      }
    },

    async repair(): Promise<void> {
      const tenants = new Set([
        ...repos.tenants(),
        ...(
          store.sqlite.prepare('SELECT DISTINCT tenant_id AS t FROM deployments').all() as { t: string }[]
        ).map((r) => r.t),
      ]);
      for (const t of tenants) {
        const r = await repos.sync(
          t,
          'repair: desired state rewritten from the database after a restart',
          'outpost:startup',
        );
        if (r.changed)
          log.warn(
            { tenant: t, commit: r.commit },
            'deployments repository was behind the database; repaired',
          );
        await deps.afterCommit(t);
      }
      // Rollouts in progress (their timers were in memory): one step each.
      await advanceAll();
    },

    countActive(tenantId: string): number {
      return (
        store.sqlite
          .prepare(`SELECT count(*) AS n FROM deployments WHERE tenant_id = ? AND state != 'removed'`)
          .get(tenantId) as { n: number }
      ).n;
    },
    countOnNode(uid: string): number {
      return (
        store.sqlite
          .prepare(
            `SELECT count(*) AS n FROM deployment_targets t JOIN deployments d ON d.id = t.deployment_id WHERE t.node_uid = ? AND d.state != 'removed'`,
          )
          .get(uid) as { n: number }
      ).n;
    },
    countOfApp(tenantId: string, appId: string, version?: string): number {
      return (
        store.sqlite
          .prepare(
            `SELECT count(*) AS n FROM deployments WHERE tenant_id = ? AND app_id = ? AND state != 'removed' AND (? IS NULL OR version = ?)`,
          )
          .get(tenantId, appId, version ?? null, version ?? null) as { n: number }
      ).n;
    },
  };

  /** `--set name=value` strings, converted by each parameter's data type (errors name the parameter). */
  function coerceSet(
    desc: ApplicationDescription,
    set: Record<string, string> | undefined,
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, raw] of Object.entries(set ?? {}))
      out[name] = coerceParameterInput(raw, parameterDataType(desc, name), name);
    return out;
  }

  function finishRemovalIfDone(id: string): void {
    if (!statusQ.removing.get(id)) return;
    const left = store.sqlite
      .prepare(
        `SELECT count(*) AS n FROM deployment_targets WHERE deployment_id = ? AND (state IS NULL OR state != 'removed')`,
      )
      .get(id) as { n: number };
    if (left.n === 0) {
      db.update(deployments)
        .set({ state: 'removed', updatedAt: clock.now() })
        .where(eq(deployments.id, id))
        .run();
      log.info({ deployment: id }, 'deployment removed from every node');
    }
  }
}

export type DeployEngine = ReturnType<typeof createDeployEngine>;
