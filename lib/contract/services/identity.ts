import { z } from 'zod';
import { command, defineService, query } from '../define.js';
import { labelsSchema, slugSchema } from './common.js';

export const caInfoSchema = z.object({
  initialized: z.boolean(),
  trustDomain: z.string(),
  fingerprint: z.string().nullable(),
  notAfter: z.number().nullable(),
  wfmSpiffeId: z.string(),
  /** Base URL of the Margo Management Interface (null when it is not running). */
  mmiUrl: z.string().nullable(),
});
export type CaInfo = z.infer<typeof caInfoSchema>;

export const policyEntrySchema = z.object({
  pattern: z.string(),
  effect: z.enum(['allow', 'deny']),
  createdAt: z.number(),
});
export const svidInfoSchema = z.object({
  serialHex: z.string(),
  clientId: z.string(),
  spiffeId: z.string(),
  issuedAt: z.number(),
  notAfter: z.number(),
  revokedAt: z.number().nullable(),
});

export const nodeCertificateSchema = z.object({
  nodeUid: z.string(),
  spiffeId: z.string(),
  /** The node's certificate (PEM). */
  certPem: z.string(),
  serialHex: z.string(),
  notAfter: z.number(),
  /** The trust bundle the device needs to trust the WFM (PEM). */
  anchorsPem: z.array(z.string()),
  /** The MMI base URL, when it runs. */
  mmiUrl: z.string().nullable(),
});

export const trustedCaSchema = z.object({
  fingerprint: z.string(),
  subject: z.string(),
  notAfter: z.number(),
  addedAt: z.number(),
  addedBy: z.string(),
});

export const enrollTokenSchema = z.object({
  token: z.string(),
  nodeUid: z.string(),
  nodeName: z.string(),
  siteId: z.string(),
  expiresAt: z.number(),
  caFingerprint: z.string(),
  mmiUrl: z.string().nullable(),
  /** The exact command to run on the node (`edgectl agent enroll --lo <url> --token <token>`). */
  command: z.string(),
  /** The token as a QR code (SVG), for a phone or a camera at the node. */
  qrSvg: z.string(),
});
export type EnrollToken = z.infer<typeof enrollTokenSchema>;

const spiffePattern = z
  .string()
  .min(10)
  .regex(
    /^spiffe:\/\/[a-z0-9._-]+\/\S*$/,
    'a SPIFFE ID (spiffe://<trust-domain>/...), optionally ending in /* for a prefix',
  );

/** Site identity (the LO's CA, SVIDs, the accepted-client policy) and node enrollment. */
export const identityService = defineService('identity', {
  ca: query({
    roles: ['viewer'],
    summary: 'The site CA and the WFM identity.',
    input: z.object({}).strict().default({}),
    output: caInfoSchema,
  }),
  initCa: command({
    roles: ['admin'],
    summary:
      'Create the site CA (refused when one exists unless forced; forcing invalidates every issued SVID).',
    input: z
      .object({ force: z.boolean().default(false) })
      .strict()
      .default({ force: false }),
    output: caInfoSchema,
    errors: ['already-exists'],
    auditTarget: () => 'site-ca',
  }),
  exportCa: query({
    roles: ['viewer'],
    summary: 'The trust anchors (PEM) clients need to trust this site.',
    input: z.object({}).strict().default({}),
    output: z.object({ anchorsPem: z.array(z.string()), fingerprint: z.string(), trustDomain: z.string() }),
    errors: ['not-found'],
  }),
  issueClient: command({
    roles: ['admin'],
    summary:
      'Issue an SVID and key for a client that cannot make a CSR (e.g. a conformance tester); the key is returned once.',
    input: z
      .object({
        clientId: z.string().regex(/^[A-Za-z0-9._-]{1,200}$/),
        ttlHours: z
          .number()
          .positive()
          .max(24 * 365)
          .optional(),
        /** Also add its SPIFFE ID to the accepted-client policy. */
        allow: z.boolean().default(true),
      })
      .strict(),
    output: z.object({
      spiffeId: z.string(),
      certPem: z.string(),
      keyPem: z.string(),
      anchorsPem: z.array(z.string()),
      notAfter: z.number(),
      serialHex: z.string(),
    }),
    auditTarget: (i) => `client/${i.clientId}`,
    secretResult: true,
  }),
  clients: query({
    roles: ['viewer'],
    summary: 'The accepted-client policy and the SVIDs issued.',
    input: z.object({}).strict().default({}),
    output: z.object({ policy: z.array(policyEntrySchema), svids: z.array(svidInfoSchema) }),
  }),
  allow: command({
    roles: ['admin'],
    summary: 'Allow a SPIFFE ID (or prefix ending in /*) in the accepted-client policy.',
    input: z.object({ pattern: spiffePattern }).strict(),
    output: policyEntrySchema,
    auditTarget: (i) => `policy/${i.pattern}`,
  }),
  deny: command({
    roles: ['admin'],
    summary: 'Deny a SPIFFE ID (or prefix ending in /*): takes effect on its next request.',
    input: z.object({ pattern: spiffePattern }).strict(),
    output: policyEntrySchema,
    auditTarget: (i) => `policy/${i.pattern}`,
  }),
  createEnrollToken: command({
    roles: ['operator'],
    summary: 'A one-time enrollment token for a node (created if needed) at a site, with an expiry.',
    input: z
      .object({
        node: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/),
        siteId: z.string().min(1),
        ttlMinutes: z
          .number()
          .int()
          .positive()
          .max(60 * 24 * 30)
          .default(60),
      })
      .strict(),
    output: enrollTokenSchema,
    errors: ['not-found', 'conflict'],
    auditTarget: (i) => `node/${i.node}`,
    secretResult: true,
  }),
  createEnrollTokens: command({
    roles: ['operator'],
    summary:
      'One-time enrollment tokens for several nodes (each created if needed) at a site, all or none; each with the exact edgectl command and a QR code.',
    input: z
      .object({
        nodes: z.array(slugSchema).min(1).max(50),
        siteId: z.string().min(1),
        ttlMinutes: z
          .number()
          .int()
          .positive()
          .max(60 * 24 * 30)
          .default(60),
      })
      .strict(),
    output: z.object({ tokens: z.array(enrollTokenSchema) }),
    errors: ['not-found', 'conflict', 'invalid-input'],
    auditTarget: (i) =>
      i.nodes.length === 1
        ? `node/${i.nodes[0]}`
        : `nodes/${i.nodes.slice(0, 3).join(',')}${i.nodes.length > 3 ? `,+${i.nodes.length - 3}` : ''}`,
    secretResult: true,
  }),
  revokeNode: command({
    roles: ['operator'],
    summary: 'Revoke a node: its SVIDs are denied from its next request on.',
    input: z.object({ name: z.string().min(1) }).strict(),
    output: z.object({ nodeUid: z.string(), revokedSerials: z.array(z.string()) }),
    errors: ['not-found'],
    auditTarget: (i) => `node/${i.name}`,
  }),
  signNodeCsr: command({
    roles: ['operator'],
    summary:
      'Enroll a third-party Margo device by signing its own CSR (its key never leaves it): the node is registered at the site and enrolled; returns its SVID and the trust bundle.',
    input: z
      .object({
        node: slugSchema,
        siteId: z.string().min(1),
        csrPem: z
          .string()
          .min(1)
          .max(16 * 1024),
        modelId: z.string().optional(),
        labels: labelsSchema.optional(),
        ttlHours: z
          .number()
          .positive()
          .max(24 * 365)
          .optional(),
      })
      .strict(),
    output: nodeCertificateSchema,
    errors: ['not-found', 'conflict', 'invalid-input'],
    auditTarget: (i) => `node/${i.node}`,
  }),
  registerNodeCertificate: command({
    roles: ['operator'],
    summary:
      "Enroll a third-party Margo device by its certificate, issued by a CA added to the site's trust (trustCa) for spiffe://<trust-domain>/margo/wfm/<wfm-id>/client/<tenant>.<node>.",
    input: z
      .object({
        node: slugSchema,
        siteId: z.string().min(1),
        certPem: z
          .string()
          .min(1)
          .max(64 * 1024),
        modelId: z.string().optional(),
        labels: labelsSchema.optional(),
      })
      .strict(),
    output: nodeCertificateSchema,
    errors: ['not-found', 'conflict', 'invalid-input'],
    auditTarget: (i) => `node/${i.node}`,
  }),
  trustCa: command({
    roles: ['admin'],
    summary:
      "Add a CA to the site's trust for client certificates (third-party devices); certificates it issued are admitted only once registered for a node.",
    input: z
      .object({
        certPem: z
          .string()
          .min(1)
          .max(64 * 1024),
      })
      .strict(),
    output: trustedCaSchema,
    errors: ['invalid-input', 'already-exists'],
    auditTarget: () => 'site-ca/trust',
  }),
  trustedCas: query({
    roles: ['viewer'],
    summary: "The CAs added to the site's trust besides the site CA.",
    input: z.object({}).strict().default({}),
    output: z.object({ cas: z.array(trustedCaSchema) }),
  }),
  untrustCa: command({
    roles: ['admin'],
    summary:
      "Remove a CA from the site's trust: certificates it issued are refused from the next handshake on.",
    input: z.object({ fingerprint: z.string().min(1) }).strict(),
    output: z.object({ fingerprint: z.string() }),
    errors: ['not-found'],
    auditTarget: (i) => `site-ca/trust/${i.fingerprint}`,
  }),
});
