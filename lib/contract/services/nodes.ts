import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { labelKeySchema, labelsSchema, presenceSchema, slugSchema } from './common.js';
import type { DeviceCapabilities, PlacementReason } from '../../model/index.js';
import { auditEntrySchema } from './system.js';

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

/** Most nodes one bulk action may name. */
export const BULK_NODES_MAX = 1000;

export const bulkNodeActionSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('label'),
      set: labelsSchema.default({}),
      remove: z.array(labelKeySchema).default([]),
    })
    .strict(),
  z.object({ kind: z.literal('cordon') }).strict(),
  z.object({ kind: z.literal('uncordon') }).strict(),
  z.object({ kind: z.literal('setModel'), modelId: z.string().min(1).nullable() }).strict(),
]);
export type BulkNodeAction = z.input<typeof bulkNodeActionSchema>;

export const svidSummarySchema = z.object({
  serialHex: z.string(),
  spiffeId: z.string(),
  issuedAt: z.number(),
  notAfter: z.number(),
  revokedAt: z.number().nullable(),
});

export const nodeWorkloadSchema = z.object({
  deploymentId: z.string(),
  deploymentName: z.string(),
  appId: z.string(),
  /** The version this node is told to run. */
  version: z.string(),
  desired: z.enum(['present', 'absent']),
  /** The last reported state, `pending` before any report. */
  state: z.string(),
  /** When the node reported it (null: never). */
  stateAt: z.number().nullable(),
  /** When the node was told to run it. */
  assignedAt: z.number(),
  /** The last report is about the revision the node is told to run now. */
  current: z.boolean(),
  error: z.string().nullable(),
  components: z.array(z.object({ name: z.string(), state: z.string(), error: z.string().nullable() })),
});
export type NodeWorkload = z.infer<typeof nodeWorkloadSchema>;

export const nodeEventSchema = z.object({
  at: z.number(),
  kind: z.enum([
    'presence',
    'status',
    'enrolled',
    'revoked',
    'registered',
    'capabilities',
    'reset',
    'connection',
  ]),
  text: z.string(),
  /** The deployment a status event is about. */
  deploymentId: z.string().nullable(),
});
export type NodeEvent = z.infer<typeof nodeEventSchema>;

/**
 * A microcontroller behind a host (the child device node `<host>/<mcu>`, ADR 0441), as its host reports
 * it: presence (offline when the host says it is disconnected) and its age, board, firmware, resets,
 * and the deployments on it (`unknown` while it cannot be reached: never shown running).
 */
export const mcuSummarySchema = z.object({
  /** The node's name, `<host>/<mcu>`. */
  name: z.string(),
  presence: presenceSchema,
  lastSeenAt: z.number().nullable(),
  /** When the host saw it connect or go (the age of its presence). */
  since: z.number().nullable(),
  port: z.string().nullable(),
  board: z.string().nullable(),
  firmware: z.string().nullable(),
  ocre: z.string().nullable(),
  resets: z.number(),
  lastResetAt: z.number().nullable(),
  /** Why the host cannot reach it, in the port's or the device's words. */
  lastError: z.string().nullable(),
  workloads: z.array(
    z.object({
      deploymentId: z.string(),
      deploymentName: z.string(),
      state: z.string(),
      stateAt: z.number().nullable(),
    }),
  ),
});
export type McuSummary = z.infer<typeof mcuSummarySchema>;

export const nodeDetailSchema = z.object({
  node: nodeSchema,
  /** The SVID the node holds now (the newest not revoked), null when it has none. */
  svid: svidSummarySchema.nullable(),
  /** Every SVID issued to it, newest first (at most 20). */
  svids: z.array(svidSummarySchema),
  model: z
    .object({ id: z.string(), name: z.string(), vendor: z.string(), modelNumber: z.string() })
    .nullable(),
  /** Presence changes, newest first (at most 100), each with when it began. */
  presenceHistory: z.array(z.object({ presence: presenceSchema, at: z.number() })),
  staleAfterSeconds: z.number(),
  offlineAfterSeconds: z.number(),
  workloads: z.array(nodeWorkloadSchema),
  /** A host's microcontrollers (child device nodes), by name. */
  mcus: z.array(mcuSummarySchema).default([]),
  /** For a microcontroller: its host's node name and what the host reports of it; null for a host. */
  parent: z.string().nullable().default(null),
  mcu: mcuSummarySchema.nullable().default(null),
  /** What happened to the node, newest first (at most 50): presence changes, status reports, enrollment. */
  events: z.array(nodeEventSchema),
  /** Audit entries about the node, newest first (at most 20). */
  audit: z.array(auditEntrySchema),
  /**
   * The workloads' output through the site's LO: not yet available (no agent-side log method in the
   * contract yet; ADR 0229). `reason` says why.
   */
  output: z.object({ available: z.boolean(), reason: z.string() }),
  now: z.number(),
});
export type NodeDetail = z.infer<typeof nodeDetailSchema>;

export const nodeFitSchema = z.object({
  appId: z.string(),
  appName: z.string(),
  version: z.string(),
  profileId: z.string(),
  profileType: z.string(),
  /** The node passes every filter for this profile (it could be placed now). */
  fits: z.boolean(),
  /** Why not (or notes when it fits), in the placement's words. */
  reasons: z.array(z.custom<PlacementReason>((v) => typeof v === 'object' && v !== null)),
});
export type NodeFit = z.infer<typeof nodeFitSchema>;

export const nodesService = defineService('nodes', {
  list: query({
    roles: ['viewer'],
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
    roles: ['viewer'],
    summary: 'One node.',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: nodeSchema,
    errors: ['not-found'],
  }),
  add: command({
    roles: ['operator'],
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
    roles: ['operator'],
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
    roles: ['operator'],
    summary: 'Stop placing new deployments on a node (running ones stay).',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: nodeSchema,
    errors: ['not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  uncordon: command({
    roles: ['operator'],
    summary: 'Allow placement on a node again.',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: nodeSchema,
    errors: ['not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  setModel: command({
    roles: ['operator'],
    summary: 'Link a node to a device model of the Device Store.',
    input: z.object({ name: z.string().min(1), modelId: z.string().nullable() }).strict(),
    output: nodeSchema,
    errors: ['not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  workloadLogs: query({
    roles: ['operator'],
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
  detail: query({
    roles: ['viewer'],
    summary:
      "One node's page: identity and SVID expiry, presence and its history, model, workloads with states and ages, recent events and audit entries.",
    input: z.object({ name: z.string().min(1) }).strict(),
    output: nodeDetailSchema,
    errors: ['not-found'],
  }),
  fit: query({
    roles: ['viewer'],
    summary:
      'Whether a node could run each application (the newest version of every app, or one version), and why not: the placement filters for this node alone.',
    input: z
      .object({
        name: z.string().min(1),
        appId: z.string().min(1).optional(),
        version: z.string().min(1).optional(),
      })
      .strict(),
    output: z.object({ fits: z.array(nodeFitSchema) }),
    errors: ['not-found'],
  }),
  bulk: command({
    roles: ['operator'],
    summary:
      'One action on many nodes at once (labels, cordon, uncordon, device model): all or nothing, one audit entry.',
    input: z
      .object({
        names: z.array(z.string().min(1)).min(1).max(BULK_NODES_MAX),
        action: bulkNodeActionSchema,
      })
      .strict(),
    output: z.object({ updated: z.number().int().nonnegative(), names: z.array(z.string()) }),
    errors: ['not-found'],
    auditTarget: (i) =>
      i.names.length === 1
        ? `node/${i.names[0]}`
        : `nodes/${i.names.slice(0, 3).join(',')}${i.names.length > 3 ? `,+${i.names.length - 3}` : ''}`,
  }),
  remove: command({
    roles: ['operator'],
    summary: 'Remove a node that has no deployments.',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: z.object({ uid: z.string() }),
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `node/${i.name}`,
  }),
});
