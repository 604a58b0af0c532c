import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { presenceSchema } from './common.js';
import type { PlacementResult } from '../../model/index.js';

export const deploymentStateSchema = z.enum([
  'pending',
  'installing',
  'installed',
  'failed',
  'removing',
  'removed',
]);

export const targetSchema = z
  .object({
    /** Explicit node names. */
    nodes: z.array(z.string().min(1)).min(1).optional(),
    /** A site (every eligible node of it, or `replicas` of them). */
    siteId: z.string().min(1).optional(),
    /** Operator label filter (k=v, ANDed) within the site or tenant. */
    selector: z.record(z.string(), z.string()).optional(),
    /**
     * Preference labels (k=v): matching nodes score higher, nothing is excluded. Default: nodes an
     * operator labelled `outpost.dev/preferred=true` (ADR 0360).
     */
    prefer: z.record(z.string(), z.string()).optional(),
    /** How many nodes to place on; default: every eligible node (site) or each named node. */
    replicas: z.union([z.number().int().positive(), z.literal('all')]).optional(),
  })
  .strict()
  .refine((t) => t.nodes !== undefined || t.siteId !== undefined || t.selector !== undefined, {
    message: 'name the target: nodes, a site, or a label selector',
  });
export type DeploymentTarget = z.infer<typeof targetSchema>;

export const rolloutStrategySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('all-at-once') }).strict(),
  z
    .object({
      kind: z.literal('batches'),
      size: z.number().int().positive().optional(),
      percent: z.number().positive().max(100).optional(),
      maxUnavailable: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,3}%$/)]).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('canary'),
      canary: z.number().int().positive(),
      promote: z.union([
        z.literal('manual'),
        z.object({ afterSeconds: z.number().int().positive() }).strict(),
      ]),
      then: z
        .object({
          kind: z.enum(['all-at-once', 'batches']),
          size: z.number().int().positive().optional(),
          percent: z.number().positive().max(100).optional(),
          maxUnavailable: z
            .union([z.number().int().nonnegative(), z.string().regex(/^\d{1,3}%$/)])
            .optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
]);
export type RolloutStrategyInput = z.infer<typeof rolloutStrategySchema>;

export const rolloutOptionsSchema = z
  .object({
    strategy: rolloutStrategySchema,
    /** Failed nodes tolerated before the rollout stops (count or percent). */
    failureThreshold: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,3}%$/)]).optional(),
    /** On an update: return the nodes that took it to the previous version when the threshold is crossed. */
    autoRollback: z.boolean().optional(),
    /**
     * A node told to install that has not reported `installed` this many seconds later counts as
     * failed (towards the threshold and rollback). Default: no limit, since an air-gapped or
     * disconnected node may take days to report (ADR 0010).
     */
    installTimeoutSeconds: z.number().int().positive().max(31_536_000).optional(),
  })
  .strict();
export type RolloutOptions = z.infer<typeof rolloutOptionsSchema>;

export const componentStatusSchema = z.object({
  name: z.string(),
  state: z.string(),
  error: z
    .object({ code: z.string().optional(), source: z.string().optional(), message: z.string().optional() })
    .optional(),
});

export const deploymentNodeSchema = z.object({
  nodeUid: z.string(),
  nodeName: z.string(),
  siteId: z.string(),
  desired: z.enum(['present', 'absent']),
  /** The version this node is told to run. */
  version: z.string(),
  /** The last reported state, or `pending` before any report. */
  state: deploymentStateSchema,
  /**
   * When the node reached that state: the report's event time, carried from the node's outbox through the
   * LO (ADR 0169); for older reports, when it was received. Null: never reported.
   */
  stateAt: z.number().nullable(),
  /** When that report reached this server (later than stateAt when it waited on the way). */
  receivedAt: z.number().nullable(),
  /** Whether the last report refers to the YAML the node is told to run now (false: an older revision). */
  current: z.boolean(),
  presence: presenceSchema,
  lastSeenAt: z.number().nullable(),
  /** The node has not been heard from recently: its state may be out of date. */
  stale: z.boolean(),
  error: z
    .object({ code: z.string().optional(), source: z.string().optional(), message: z.string().optional() })
    .nullable(),
  components: z.array(componentStatusSchema),
});
export type DeploymentNode = z.infer<typeof deploymentNodeSchema>;

export const deploymentSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  appId: z.string(),
  version: z.string(),
  profileId: z.string(),
  profileType: z.string(),
  state: z.enum(['active', 'removing', 'removed']),
  /** Counts of node states; `stale` counts nodes not heard from recently (whatever their last state). */
  counts: z.record(z.string(), z.number()),
  nodeCount: z.number(),
  commit: z.string().nullable(),
  createdAt: z.number(),
  updatedAt: z.number(),
  createdBy: z.string(),
});
export type DeploymentSummary = z.infer<typeof deploymentSummarySchema>;

export const deploymentViewSchema = deploymentSummarySchema.extend({
  target: z.record(z.string(), z.unknown()),
  parameters: z.record(z.string(), z.unknown()),
  generation: z.number(),
  nodes: z.array(deploymentNodeSchema),
  rollout: z
    .object({
      phase: z.string(),
      paused: z.boolean(),
      /** What the rollout waits for: canary soak, operator promote, a batch in progress, ... */
      waitingFor: z.string().nullable(),
      message: z.string(),
      /** Stopped by a failure that no node reports any more: `deployments.retry` resumes it. */
      retryable: z.boolean().optional(),
      progress: z.object({
        total: z.number(),
        installed: z.number(),
        failed: z.number(),
        inProgress: z.number(),
        notStarted: z.number(),
      }),
      strategy: z.record(z.string(), z.unknown()),
      /** A node not installed this long after it was told counts as failed; null: no limit. */
      installTimeoutSeconds: z.number().nullable(),
    })
    .nullable(),
  now: z.number(),
});
export type DeploymentView = z.infer<typeof deploymentViewSchema>;

export const placementSchema = z.custom<PlacementResult>((v) => typeof v === 'object' && v !== null);

const appRef = {
  appId: z.string().min(1),
  version: z.string().min(1).optional(),
  profileId: z.string().min(1).optional(),
};

export const deploymentsService = defineService('deployments', {
  place: query({
    roles: ['viewer'],
    summary: 'Dry run of placement: every candidate node, placed or not, with the reason.',
    input: z.object({ ...appRef, target: targetSchema }).strict(),
    output: z.object({
      appId: z.string(),
      version: z.string(),
      profileId: z.string(),
      profileType: z.string(),
      placement: placementSchema,
    }),
    errors: ['not-found'],
  }),
  create: command({
    roles: ['operator'],
    summary:
      'Deploy an application version to nodes chosen by placement; one commit to the deployments repository.',
    input: z
      .object({
        ...appRef,
        name: z
          .string()
          .regex(
            /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
            'a deployment name is 1-63 lowercase letters, digits and dashes (no spaces), starting and ending with a letter or digit',
          )
          .optional(),
        target: targetSchema,
        parameters: z.record(z.string(), z.unknown()).default({}),
        /** Values as typed on a command line (`--set name=value`): converted by the parameter's data type. */
        set: z.record(z.string(), z.string()).default({}),
        rollout: rolloutOptionsSchema.optional(),
      })
      .strict(),
    output: deploymentViewSchema,
    errors: ['not-found', 'not-placeable', 'invalid-input'],
    auditTarget: (i) => `app/${i.appId}${i.version ? `@${i.version}` : ''}`,
    // The handler names the new deployment before committing it (ctx.noteResultRef).
    replay: (_i, id) => (id ? { channel: 'deployments.get', input: { id } } : undefined),
  }),
  list: query({
    roles: ['viewer'],
    summary: 'Deployments of the tenant with per-state node counts.',
    input: z
      .object({ appId: z.string().optional(), includeRemoved: z.boolean().default(false) })
      .strict()
      .default({ includeRemoved: false }),
    output: z.object({ deployments: z.array(deploymentSummarySchema), now: z.number() }),
  }),
  get: query({
    roles: ['viewer'],
    summary: 'One deployment with the state of every node and the age of each report.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: deploymentViewSchema,
    errors: ['not-found'],
  }),
  update: command({
    roles: ['operator'],
    summary: 'Change the version and/or parameter values of a deployment.',
    input: z
      .object({
        id: z.string().min(1),
        version: z.string().min(1).optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        set: z.record(z.string(), z.string()).default({}),
        rollout: rolloutOptionsSchema.optional(),
      })
      .strict(),
    output: deploymentViewSchema,
    errors: ['not-found', 'invalid-input', 'not-placeable', 'conflict'],
    auditTarget: (i) => `deployment/${i.id}`,
    replay: (i) => ({ channel: 'deployments.get', input: { id: i.id } }),
  }),
  remove: command({
    roles: ['operator'],
    summary: 'Remove a deployment from all its nodes (they report removing, then removed).',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: deploymentViewSchema,
    errors: ['not-found'],
    auditTarget: (i) => `deployment/${i.id}`,
    replay: (i) => ({ channel: 'deployments.get', input: { id: i.id } }),
  }),
  promote: command({
    roles: ['operator'],
    summary: 'Promote a canary rollout to the remaining nodes.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: deploymentViewSchema,
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `deployment/${i.id}`,
    replay: (i) => ({ channel: 'deployments.get', input: { id: i.id } }),
  }),
  pause: command({
    roles: ['operator'],
    summary: 'Pause a rollout (nodes already told keep their orders).',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: deploymentViewSchema,
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `deployment/${i.id}`,
    replay: (i) => ({ channel: 'deployments.get', input: { id: i.id } }),
  }),
  resume: command({
    roles: ['operator'],
    summary: 'Resume a paused rollout.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: deploymentViewSchema,
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `deployment/${i.id}`,
    replay: (i) => ({ channel: 'deployments.get', input: { id: i.id } }),
  }),
  retry: command({
    roles: ['operator'],
    summary:
      'Resume a rollout a failure stopped (failed or rolled back) from where it stopped, once no node reports the failure any more.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: deploymentViewSchema,
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `deployment/${i.id}`,
  }),
});
