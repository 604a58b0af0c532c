import { z } from 'zod';
import { defineService, query } from '../define.js';

/**
 * Fleet health at a glance (ADR 0227, 0228): what needs attention, worst first, each item with the
 * console route that resolves it; and the stored time series the Dashboard plots.
 */

export const attentionSeveritySchema = z.enum(['critical', 'warning', 'info']);
export type AttentionSeverity = z.infer<typeof attentionSeveritySchema>;

export const ATTENTION_KINDS = [
  'nodes-offline',
  'nodes-stale',
  'deployment-failed',
  'deployment-stuck',
  'rollout-paused',
  'site-disconnected',
  'site-air-gapped',
  'svid-expiring',
  'site-ca-expiring',
  'bundle-key-expiring',
  'desired-state-refused',
  'nats-down',
  'recent-failures',
] as const;
export const attentionKindSchema = z.enum(ATTENTION_KINDS);
export type AttentionKind = z.infer<typeof attentionKindSchema>;

export const attentionItemSchema = z.object({
  /** Stable for the same problem (the console keys rows by it). */
  id: z.string(),
  kind: attentionKindSchema,
  severity: attentionSeveritySchema,
  /** One line: what is wrong ("3 nodes offline at plant-a"). */
  title: z.string(),
  /** More words: what it means, what resolves it. */
  detail: z.string(),
  /** Since when (ms since epoch): the oldest of the group; null when not known. */
  since: z.number().nullable(),
  /** For expiries: when it runs out (ms since epoch). */
  until: z.number().nullable(),
  /** How many records it is about (nodes, entries). */
  count: z.number().int().nonnegative(),
  /** The console route that resolves it (`/nodes/edge-1`, `/deployments/<id>`, `/sites?site=x&presence=offline`). */
  href: z.string(),
  /** The label of that link ("Open node", "Show offline nodes"). */
  action: z.string(),
  siteId: z.string().nullable(),
});
export type AttentionItem = z.infer<typeof attentionItemSchema>;

export const seriesPointSchema = z.object({
  at: z.number(),
  values: z.record(z.string(), z.number()),
});
export type SeriesPoint = z.infer<typeof seriesPointSchema>;

export const healthService = defineService('health', {
  attention: query({
    roles: ['viewer'],
    summary:
      'What needs attention in the fleet, worst first (offline and stale nodes, failed or stuck deployments, disconnected sites, expiring identities, recent failures), each with the console route that resolves it.',
    input: z
      .object({
        /** At most this many items (the rest are counted in `more`). */
        limit: z.number().int().min(1).max(500).default(100),
      })
      .strict()
      .default({ limit: 100 }),
    output: z.object({
      items: z.array(attentionItemSchema),
      /** Items beyond `limit`. */
      more: z.number().int().nonnegative(),
      /** Counts of every item by severity (all of them, not only the page). */
      bySeverity: z.record(attentionSeveritySchema, z.number().int().nonnegative()),
      now: z.number(),
    }),
  }),
  series: query({
    roles: ['viewer'],
    summary:
      'The stored time series of fleet health: nodes by presence, deployment targets by state, and per site its link and nodes online; five-minute points for the last two days, hourly ones for ninety.',
    input: z
      .object({
        series: z.enum(['presence', 'deployments', 'site']),
        /** How far back, in hours (default 24). */
        hours: z
          .number()
          .int()
          .min(1)
          .max(24 * 90)
          .default(24),
      })
      .strict(),
    output: z.object({
      series: z.string(),
      /** The resolution of the points, ms. */
      step: z.number(),
      /** One line per subject ('' for the fleet as a whole; a site id for `site`). */
      subjects: z.array(z.object({ subject: z.string(), points: z.array(seriesPointSchema) })),
      /** When samples are taken (ms). */
      sampleEveryMs: z.number(),
      now: z.number(),
    }),
  }),
});
