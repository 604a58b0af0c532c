import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { labelKeySchema, labelsSchema, presenceSchema, slugSchema } from './common.js';
import type { DeviceCapabilities } from '../../model/index.js';

export const capacitySchema = z.object({
  /** CPU architectures reported, each once. */
  architectures: z.array(z.string()),
  /** Cores summed over all CPUs. */
  cores: z.number(),
  memory: z.string().nullable(),
  storage: z.string().nullable(),
});
export type Capacity = z.infer<typeof capacitySchema>;

export const nodeStateSchema = z.enum(['registered', 'enrolled', 'revoked']);

export const nodeSchema = z.object({
  /** Globally unique id, also the node's Margo client id: `<tenant>.<name>`. */
  uid: z.string(),
  name: z.string(),
  siteId: z.string(),
  modelId: z.string().nullable(),
  /** Labels the operator set. */
  labels: z.record(z.string(), z.string()),
  /** Labels the node reported in its capabilities. */
  reportedLabels: z.record(z.string(), z.unknown()),
  cordoned: z.boolean(),
  state: nodeStateSchema,
  presence: presenceSchema,
  lastSeenAt: z.number().nullable(),
  capabilitiesAt: z.number().nullable(),
  /**
   * The capabilities document the node reported; null when it reported none (`capabilitiesAt` null) or
   * when `nodes.list` was asked for rows without documents (`capabilities: false`; `nodes.get` has it).
   */
  capabilities: z.custom<DeviceCapabilities>((v) => typeof v === 'object' && v !== null).nullable(),
  /** What the reported capabilities say about size, computed by the server; null when none were reported. */
  capacity: capacitySchema.nullable(),
  /** Child devices behind a see-thru gateway (`gw/child`). */
  children: z.array(z.object({ deviceId: z.string(), updatedAt: z.number() })),
  createdAt: z.number(),
  enrolledAt: z.number().nullable(),
});
export type Node = z.infer<typeof nodeSchema>;

/** What `nodes.workloadLogs` returns: each component's last lines as the node's agent read them. */
export const workloadLogsSchema = z.object({
  node: z.string(),
  deploymentId: z.string(),
  /** When the node read them (its clock). */
  at: z.number(),
  components: z.array(
    z.object({
      component: z.string(),
      kind: z.string(),
      lines: z.array(z.string()),
      /** Earlier lines were left out (the tail, or the size of one answer). */
      truncated: z.boolean(),
      /** Why there is nothing to show (not started yet, a runtime that keeps no output on the node). */
      note: z.string().optional(),
    }),
  ),
});
export type WorkloadLogs = z.infer<typeof workloadLogsSchema>;

/** Most rows one `nodes.list` page may ask for. */
export const NODES_PAGE_MAX = 1000;

/**
 * Columns `nodes.list` sorts by. `presence` orders online, stale, offline, unknown (then the most recently
 * seen first), exactly as the server classifies each row; `model` orders by the device model's name (its
 * id when the model is gone); `lastSeenAt` puts never-seen nodes first when ascending. Ties go by name.
 */
export const nodeSortFields = [
  'name',
  'siteId',
  'state',
  'presence',
  'lastSeenAt',
  'model',
  'cordoned',
  'createdAt',
] as const;
export const nodeSortFieldSchema = z.enum(nodeSortFields, {
  error: (iss) =>
    `cannot sort nodes by ${JSON.stringify(iss.input)}: sort by one of ${nodeSortFields.join(', ')}`,
});
export type NodeSortField = z.infer<typeof nodeSortFieldSchema>;

export const nodesListInputSchema = z
  .object({
    siteId: z.string().optional(),
    /** Exact label matches (the operator's label, else the one the node reported), ANDed. */
    selector: z.record(z.string(), z.string()).optional(),
    /**
     * Case-insensitive text (ASCII case folding) found in the name or in any `key=value` of the node's
     * labels (the operator's and the reported ones).
     */
    search: z.string().max(200).optional(),
    /** Only nodes whose presence (as the server classifies it at `now`) is one of these. */
    presence: z.array(presenceSchema).min(1).max(4).optional(),
    sort: z
      .object({ field: nodeSortFieldSchema, direction: z.enum(['asc', 'desc']).default('asc') })
      .strict()
      .optional(),
    /** At most this many rows (1 to NODES_PAGE_MAX); without it, every matching node (as before paging). */
    limit: z.number().int().min(1).max(NODES_PAGE_MAX).optional(),
    /** Rows to skip in this order before the page starts. */
    offset: z.number().int().min(0).max(1_000_000).default(0),
    /**
     * Send each row's capabilities document (default true). A table that shows only `capacity` and
     * `reportedLabels` asks without them; `nodes.get` gives one node's document.
     */
    capabilities: z.boolean().default(true),
  })
  .strict()
  .default({ offset: 0, capabilities: true });
export type NodesListInput = z.input<typeof nodesListInputSchema>;

export const nodesService = defineService('nodes', {
  list: query({
    summary:
      'Nodes of the tenant, optionally of one site, matching labels, a text or presence states; sorted and paged by the server; each with presence and its age.',
    input: nodesListInputSchema,
    output: z.object({
      /** The page (every match without `limit`), in the order asked for (by name by default). */
      nodes: z.array(nodeSchema),
      /** How many nodes match the filters, over all pages. */
      total: z.number().int(),
      now: z.number(),
      staleAfterSeconds: z.number(),
      offlineAfterSeconds: z.number(),
    }),
  }),
  get: query({
    summary: 'One node.',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: nodeSchema,
    errors: ['not-found'],
  }),
  add: command({
    summary: 'Register a node (host) at a site before it enrolls.',
    input: z
      .object({
        name: slugSchema,
        siteId: z.string().min(1),
        modelId: z.string().optional(),
        labels: labelsSchema.optional(),
      })
      .strict(),
    output: nodeSchema,
    errors: ['already-exists', 'not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  label: command({
    summary: 'Set and remove operator labels on a node.',
    input: z
      .object({
        name: z.string().min(1),
        set: labelsSchema.default({}),
        remove: z.array(labelKeySchema).default([]),
      })
      .strict(),
    output: nodeSchema,
    errors: ['not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  cordon: command({
    summary: 'Stop placing new deployments on a node (running ones stay).',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: nodeSchema,
    errors: ['not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  uncordon: command({
    summary: 'Allow placement on a node again.',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: nodeSchema,
    errors: ['not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  setModel: command({
    summary: 'Link a node to a device model of the Device Store.',
    input: z.object({ name: z.string().min(1), modelId: z.string().nullable() }).strict(),
    output: nodeSchema,
    errors: ['not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  workloadLogs: query({
    summary:
      "A deployment's workload output on one node (the last lines of each component), asked of the node's agent over the site bus while it is connected.",
    input: z
      .object({
        /** The node's name. */
        name: z.string().min(1),
        deploymentId: z.string().min(1).max(200),
        component: z.string().min(1).max(200).optional(),
        tail: z.number().int().min(0).max(10_000).default(100),
      })
      .strict(),
    output: workloadLogsSchema,
    errors: ['not-found', 'node/unreachable', 'nats-unavailable', 'unavailable'],
  }),
  remove: command({
    summary: 'Remove a node that has no deployments.',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: z.object({ uid: z.string() }),
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `node/${i.name}`,
  }),
});
