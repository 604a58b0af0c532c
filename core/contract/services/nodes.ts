import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { labelKeySchema, labelsSchema, presenceSchema, slugSchema } from './common.js';
import type { DeviceCapabilities } from '../../margo/types.js';

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
  capabilities: z.custom<DeviceCapabilities>((v) => typeof v === 'object' && v !== null).nullable(),
  /** Child devices behind a see-thru gateway (`gw/child`). */
  children: z.array(z.object({ deviceId: z.string(), updatedAt: z.number() })),
  createdAt: z.number(),
  enrolledAt: z.number().nullable(),
});
export type Node = z.infer<typeof nodeSchema>;

export const nodesService = defineService('nodes', {
  list: query({
    summary:
      'Nodes of the tenant, optionally of one site or matching labels; each with presence and its age.',
    input: z
      .object({ siteId: z.string().optional(), selector: z.record(z.string(), z.string()).optional() })
      .strict()
      .default({}),
    output: z.object({
      nodes: z.array(nodeSchema),
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
  remove: command({
    summary: 'Remove a node that has no deployments.',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: z.object({ uid: z.string() }),
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `node/${i.name}`,
  }),
});
