import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { labelsSchema, slugSchema } from './common.js';

export const enrollRequestStateSchema = z.enum(['pending', 'approved', 'rejected', 'expired']);

export const enrollRequestSchema = z.object({
  id: z.string(),
  state: enrollRequestStateSchema,
  /** The name the node asked for (`--name`), if any. */
  requestedName: z.string().nullable(),
  /** The host name the node reported. */
  hostname: z.string().nullable(),
  /** The address the request came from. */
  address: z.string(),
  /** `sha256:<hex>` of the node's public key, and the short form the node prints. */
  keyFingerprint: z.string(),
  shortFingerprint: z.string(),
  /** Six digits from the site CA and the node key: the node prints the same code when it pinned this site's CA. */
  code: z.string(),
  /** What the node said about its hardware (cpu, cores, memory, os), for the operator's eyes only. */
  hardware: z.record(z.string(), z.unknown()).nullable(),
  agentVersion: z.string().nullable(),
  createdAt: z.number(),
  expiresAt: z.number(),
  decidedAt: z.number().nullable(),
  decidedBy: z.string().nullable(),
  reason: z.string().nullable(),
  /** The node the request became (approved). */
  nodeName: z.string().nullable(),
  siteId: z.string().nullable(),
  /** When the node picked up its SVID. */
  deliveredAt: z.number().nullable(),
});
export type EnrollRequestView = z.infer<typeof enrollRequestSchema>;

/** Enrollment by approval (ADR 0462): nodes without a token ask; an operator approves or rejects. */
export const enrollRequestsService = defineService('enrollRequests', {
  list: query({
    summary: 'Enrollment requests of nodes waiting for approval (and, with `all`, decided ones).',
    input: z
      .object({ all: z.boolean().default(false) })
      .strict()
      .default({ all: false }),
    output: z.object({ requests: z.array(enrollRequestSchema), now: z.number() }),
  }),
  get: query({
    summary: 'One enrollment request.',
    input: z.object({ id: z.string().min(1) }).strict(),
    output: enrollRequestSchema,
    errors: ['not-found'],
  }),
  approve: command({
    summary:
      'Approve a pending request: the node is registered (or reused) at the site, its CSR signed; the waiting node receives its SVID on its next poll.',
    input: z
      .object({
        id: z.string().min(1),
        node: slugSchema,
        siteId: z.string().min(1),
        modelId: z.string().optional(),
        labels: labelsSchema.optional(),
      })
      .strict(),
    output: enrollRequestSchema,
    errors: ['not-found', 'conflict', 'invalid-input'],
    auditTarget: (i) => `enroll-request/${i.id}`,
  }),
  reject: command({
    summary: 'Reject a pending request: the waiting node is told so and stops.',
    input: z.object({ id: z.string().min(1), reason: z.string().max(500).optional() }).strict(),
    output: enrollRequestSchema,
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `enroll-request/${i.id}`,
  }),
});

export const foundAgentSchema = z.object({
  instance: z.string(),
  host: z.string(),
  addresses: z.array(z.string()),
  port: z.number(),
  keyFingerprint: z.string(),
  shortFingerprint: z.string(),
  version: z.string(),
  /** The node id it advertises once enrolled. */
  nodeId: z.string().nullable(),
  siteId: z.string().nullable(),
  /** A pending enrollment request filed with the same key, if any. */
  requestId: z.string().nullable(),
  /** The node this key is enrolled as here (by its node id), if any. */
  enrolledAs: z.string().nullable(),
  lastSeen: z.number(),
});

export const foundLoSchema = z.object({
  instance: z.string(),
  siteId: z.string(),
  mmiUrl: z.string(),
  caFingerprint: z.string(),
  from: z.string().nullable(),
  lastSeen: z.number(),
});

/** LAN discovery as this server sees it (ADR 0460). */
export const discoveryService = defineService('discovery', {
  status: query({
    summary:
      'What this LO advertises over mDNS, the agents found on the network, and other LOs advertising one of our sites with another CA (conflicts).',
    input: z.object({}).strict().default({}),
    output: z.object({
      enabled: z.boolean(),
      advertising: z
        .object({
          name: z.string(),
          interfaces: z.array(z.string()),
          siteId: z.string(),
          mmiUrl: z.string(),
          caFingerprint: z.string(),
        })
        .nullable(),
      /** Why nothing is advertised, when nothing is. */
      note: z.string().nullable(),
      agents: z.array(foundAgentSchema),
      conflicts: z.array(foundLoSchema),
      now: z.number(),
    }),
  }),
});
